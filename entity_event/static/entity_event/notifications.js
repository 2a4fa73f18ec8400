/*
 * Live updates of the notification center.
 *
 * Configured by the elements with data-entity-event-notifications (the bell and the list page
 * write one each): data-unread-count-url; on the list page data-list-url (on its first page),
 * data-mark-read-url and data-mark-unread-url (the forms' URLs, for the event id 0) and
 * data-title-count (the page's title starts with the unread count); data-live-url (when live
 * updates are on), data-live-across-processes (when the stream hears of the events of every
 * server process: Redis) and data-poll-seconds.
 *
 * With a live URL it listens to the server-sent events stream of the person's own channel; each
 * message only says "there is something new", and the page then asks the JSON API for its unread
 * count and, on the list page, its newest notifications, which it adds at the top, each with its
 * "Mark read" form. It polls the JSON API every data-poll-seconds when the stream is unavailable
 * (no live URL, no EventSource, or the connection fails), saying so in the element marked
 * data-entity-event-live-status, and also while the stream is open when the stream cannot hear
 * of events created in other processes (no data-live-across-processes), quietly.
 *
 * The unread count is shown in every element marked data-entity-event-unread-count, in the
 * bell's accessible name, in the title of the list page, and announced to screen readers (a
 * polite status region) when it changes.
 *
 * The words it writes come from the data-label-* attributes, translated by the server in the
 * page's language: data-label-unread, -just-now, -mark-read, -mark-unread, -polling, and
 * -bell and -announced, where "{count}" stands for the unread count.
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
  var streamOpen = false;
  var shownCount = null;
  var announcer = null;

  function ignore() {}

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

  function makeAnnouncer() {
    // A status region, present before anything is announced (screen readers read the changes
    // of a region they know), hidden from sight but not from them. Styled here: the app ships
    // no style sheet, and styles set from a script pass a Content-Security-Policy.
    var region = document.createElement("div");
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    region.setAttribute("aria-atomic", "true");
    region.setAttribute("data-entity-event-announcer", "");
    var style = region.style;
    style.position = "absolute";
    style.width = "1px";
    style.height = "1px";
    style.margin = "-1px";
    style.padding = "0";
    style.border = "0";
    style.overflow = "hidden";
    style.clipPath = "inset(50%)";
    style.whiteSpace = "nowrap";
    document.body.appendChild(region);
    return region;
  }

  function label(name, count) {
    // The page's words, translated by the server (data-label-* of _script.html); "{count}"
    // stands for the number.
    return (config[name] || "").replace("{count}", String(count));
  }

  function showCount(count) {
    document.querySelectorAll("[data-entity-event-unread-count]").forEach(function (element) {
      element.textContent = String(count);
    });
    document.querySelectorAll("[data-entity-event-bell]").forEach(function (element) {
      element.setAttribute("aria-label", label("labelBell", count));
    });
    if (config.titleCount) {
      document.title = (count ? "(" + count + ") " : "") + document.title.replace(/^\(\d+\) /, "");
    }
    if (shownCount !== null && count !== shownCount) {
      announcer.textContent = label("labelAnnounced", count);
    }
    shownCount = count;
  }

  function eventUrl(template, eventId) {
    // The form's URL for event 0, with the event's id in place of the last "/0/".
    var at = template.lastIndexOf("/0/");
    return template.slice(0, at) + "/" + eventId + "/" + template.slice(at + 3);
  }

  function hiddenInput(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  }

  function markForm(notification, bodyId) {
    // The same form as the page's own items: a POST back to this page, with the CSRF token the
    // page's other forms carry.
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    var form = document.createElement("form");
    form.method = "post";
    form.action = eventUrl(notification.read ? config.markUnreadUrl : config.markReadUrl, notification.id);
    form.appendChild(hiddenInput("csrfmiddlewaretoken", token ? token.value : ""));
    form.appendChild(hiddenInput("next", window.location.pathname + window.location.search));
    var button = document.createElement("button");
    button.type = "submit";
    button.textContent = label(notification.read ? "labelMarkUnread" : "labelMarkRead");
    button.setAttribute("aria-describedby", bodyId);
    form.appendChild(button);
    return form;
  }

  function itemFor(notification) {
    // The markup of _notification.html.
    var item = document.createElement("li");
    item.className = "entity-event-notification" + (notification.read ? "" : " unread");
    item.dataset.eventId = String(notification.id);
    if (!notification.read) {
      var mark = document.createElement("strong");
      mark.className = "entity-event-unread-mark";
      mark.textContent = label("labelUnread");
      item.append(mark, " ");
    }
    var body = document.createElement("span");
    body.className = "entity-event-body";
    body.id = "entity-event-notification-" + notification.id;
    if (notification.html) {
      body.innerHTML = notification.html; // rendered and escaped by the server's templates
    } else {
      body.textContent = notification.text || notification.source_display_name;
    }
    var time = document.createElement("time");
    time.dateTime = notification.time;
    time.textContent = label("labelJustNow");
    item.append(body, " ", time);
    if (config.markReadUrl) {
      item.append(" ", markForm(notification, body.id));
    }
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
      var url = config.listUrl + (config.listUrl.indexOf("?") < 0 ? "?" : "&") + "limit=20";
      return getJSON(url).then(function (data) {
        addNewest(data.results);
        showCount(data.unread_count);
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

  function updatePolling() {
    // Poll while the stream is down, and beside it when it cannot hear other processes.
    var wanted = !streamOpen || !config.liveAcrossProcesses;
    if (wanted && polling === null) {
      polling = window.setInterval(function () {
        refresh().catch(ignore);
      }, pollMilliseconds);
    } else if (!wanted && polling !== null) {
      window.clearInterval(polling);
      polling = null;
    }
    liveState(streamOpen ? "open" : "polling");
    status(streamOpen ? "" : label("labelPolling"));
  }

  function listen() {
    if (!config.liveUrl || !window.EventSource) {
      updatePolling();
      return;
    }
    var stream = new EventSource(config.liveUrl);
    stream.addEventListener("events", function () {
      refresh().catch(ignore);
    });
    stream.addEventListener("open", function () {
      streamOpen = true;
      updatePolling();
      refresh().catch(ignore);
    });
    stream.addEventListener("error", function () {
      // EventSource retries by itself; poll meanwhile, and stop once it reopens.
      streamOpen = false;
      updatePolling();
    });
  }

  var counted = document.querySelector("[data-entity-event-unread-count]");
  shownCount = counted ? parseInt(counted.textContent, 10) : null;
  if (isNaN(shownCount)) {
    shownCount = null;
  }
  announcer = makeAnnouncer();
  window.entityEventNotifications = { refresh: refresh };
  listen();
})();
