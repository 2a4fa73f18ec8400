/*
 * Live updates of the notification center.
 *
 * Configured by an element with data-entity-event-notifications (the template tags and the list
 * page write it): data-unread-count-url, data-list-url (on the list page), data-live-url (when
 * live updates are on) and data-poll-seconds.
 *
 * With a live URL it listens to the server-sent events stream; each message only says "there is
 * something new", and the page then asks the JSON API for its unread count and, on the list page,
 * its newest notifications, which it adds at the top. When the stream is unavailable (no live URL,
 * no EventSource, or the connection fails), it polls the JSON API every data-poll-seconds instead
 * and says so in the element marked data-entity-event-live-status, so the page keeps working.
 */
(function () {
  "use strict";
  if (window.entityEventNotifications) {
    return; // the script is included by the bell and by the list: run it once
  }
  var configs = document.querySelectorAll("[data-entity-event-notifications]");
  if (!configs.length) {
    return;
  }
  var config = {};
  configs.forEach(function (element) {
    Object.keys(element.dataset).forEach(function (key) {
      config[key] = config[key] || element.dataset[key];
    });
  });
  var pollMilliseconds = Math.max(1, parseInt(config.pollSeconds, 10) || 15) * 1000;
  var polling = null;
  var stream = null;

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
      function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      }
    );
  }

  function showCount(count) {
    document.querySelectorAll("[data-entity-event-unread-count]").forEach(function (element) {
      element.textContent = String(count);
    });
  }

  function itemFor(notification) {
    var item = document.createElement("li");
    item.className = "entity-event-notification" + (notification.read ? "" : " unread");
    item.dataset.eventId = String(notification.id);
    var body = document.createElement("span");
    body.className = "entity-event-body";
    if (notification.html) {
      body.innerHTML = notification.html; // rendered and escaped by the server's templates
    } else {
      body.textContent = notification.text || notification.source_display_name;
    }
    if (!notification.read) {
      var mark = document.createElement("strong");
      mark.className = "entity-event-unread-mark";
      mark.textContent = "New";
      item.appendChild(mark);
      item.appendChild(document.createTextNode(" "));
    }
    item.appendChild(body);
    var time = document.createElement("time");
    time.dateTime = notification.time;
    time.textContent = " just now";
    item.appendChild(time);
    return item;
  }

  function addNewest(results) {
    var list = document.querySelector("[data-entity-event-list]");
    if (!list) {
      return;
    }
    var empty = list.querySelector("[data-entity-event-empty]");
    results
      .slice()
      .reverse()
      .forEach(function (notification) {
        if (list.querySelector('[data-event-id="' + notification.id + '"]')) {
          return;
        }
        if (empty) {
          empty.remove();
          empty = null;
        }
        list.insertBefore(itemFor(notification), list.firstChild);
      });
  }

  function refresh() {
    if (config.listUrl) {
      return getJSON(config.listUrl + "?limit=20").then(function (data) {
        showCount(data.unread_count);
        addNewest(data.results);
      });
    }
    return getJSON(config.unreadCountUrl).then(function (data) {
      showCount(data.unread_count);
    });
  }

  function liveState(state) {
    // For pages and tests that want to know: "open", "polling".
    configs.forEach(function (element) {
      element.dataset.liveState = state;
    });
  }

  function status(text) {
    document.querySelectorAll("[data-entity-event-live-status]").forEach(function (element) {
      element.textContent = text;
      element.hidden = !text;
    });
  }

  function startPolling() {
    if (polling === null) {
      polling = window.setInterval(function () {
        refresh().catch(function () {});
      }, pollMilliseconds);
      liveState("polling");
      status(
        "Live updates are unavailable: checking for new notifications every " +
          pollMilliseconds / 1000 +
          " s. Reload the page to try again."
      );
    }
  }

  function stopPolling() {
    if (polling !== null) {
      window.clearInterval(polling);
      polling = null;
    }
    status("");
  }

  function listen() {
    if (!config.liveUrl || !window.EventSource) {
      startPolling();
      return;
    }
    stream = new EventSource(config.liveUrl);
    stream.addEventListener("events", function () {
      refresh().catch(startPolling);
    });
    stream.addEventListener("open", function () {
      stopPolling();
      liveState("open");
      refresh().catch(function () {});
    });
    stream.addEventListener("error", function () {
      // EventSource retries by itself; poll meanwhile, and stop once it reopens.
      startPolling();
    });
  }

  window.entityEventNotifications = { refresh: refresh };
  listen();
})();
