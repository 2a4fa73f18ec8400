"""Medium.render, Event.render and load_contexts_and_renderers: renderer lookup, templates,
escaping, additional context, errors and query counts (docs/advanced_features.rst)."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from entity_event.exceptions import ContextNotLoadedError, NoContextRendererError
from entity_event.models import ContextRenderer, Event, Medium, RenderingStyle, Source, SourceGroup
from entity_event.rendering.renderers import LoadedRendering
from tests.entities import make_entity
from tests.testapp.models import Account, Photo, Team

pytestmark = pytest.mark.django_db

ACCOUNT_HINT = {"account": {"app_name": "testapp", "model_name": "Account", "select_related": ["team"]}}


@pytest.fixture
def short(db) -> RenderingStyle:
    return RenderingStyle.objects.create(name="short", display_name="Short")


@pytest.fixture
def long(db) -> RenderingStyle:
    return RenderingStyle.objects.create(name="long", display_name="Long")


@pytest.fixture
def feed(short) -> Medium:
    return Medium.objects.create(name="feed", display_name="Feed", rendering_style=short)


@pytest.fixture
def account(db) -> Account:
    return Account.objects.create(name="alice", team=Team.objects.create(name="Blue"))


def renderer(name, style, *, source=None, group=None, **fields) -> ContextRenderer:
    return ContextRenderer.objects.create(
        name=name, rendering_style=style, source=source, source_group=group, **fields
    )


def event(source, **context) -> Event:
    return Event.objects.create_event(source=source, context=context)


class TestRendererLookup:
    """The most specific renderer wins: source, then group, medium's style, then default style."""

    @pytest.fixture
    def renderers(self, short, long, photo_source, source_group):
        return {
            "short-source": renderer("short-source", short, source=photo_source, text_template="SS"),
            "short-group": renderer("short-group", short, group=source_group, text_template="SG"),
            "long-source": renderer("long-source", long, source=photo_source, text_template="LS"),
            "long-group": renderer("long-group", long, group=source_group, text_template="LG"),
        }

    def rendered_text(self, medium, source) -> str:
        e = event(source)
        return medium.render([e])[e][0]

    def test_source_in_medium_style_wins(self, renderers, feed, photo_source):
        with override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="long"):
            assert self.rendered_text(feed, photo_source) == "SS"

    def test_group_in_medium_style_before_source_in_default_style(
        self, renderers, feed, photo_source, product_source
    ):
        renderers["short-source"].delete()
        with override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="long"):
            assert self.rendered_text(feed, photo_source) == "SG"
            # another source of the same group gets the group's renderer too
            assert self.rendered_text(feed, product_source) == "SG"

    def test_default_style_source_then_group(self, renderers, feed, photo_source, product_source):
        renderers["short-source"].delete()
        renderers["short-group"].delete()
        with override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="long"):
            assert self.rendered_text(feed, photo_source) == "LS"
            assert self.rendered_text(feed, product_source) == "LG"

    def test_without_default_style_no_fallback(self, renderers, feed, photo_source):
        renderers["short-source"].delete()
        renderers["short-group"].delete()
        e = event(photo_source)
        assert feed.render([e]) == {}

    def test_medium_without_style_uses_default_style(self, renderers, photo_source):
        plain = Medium.objects.create(name="plain", display_name="Plain")
        e = event(photo_source)
        assert plain.render([e]) == {}
        with override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="long"):
            assert plain.render([e]) == {e: ("LS", "")}

    def test_medium_style_equal_to_default_style(self, renderers, feed, photo_source):
        with override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="short"):
            assert self.rendered_text(feed, photo_source) == "SS"

    def test_renderers_of_other_groups_are_ignored(self, short, feed, photo_source):
        other_group = SourceGroup.objects.create(name="other", display_name="Other")
        Source.objects.create(name="other-source", display_name="Other", group=other_group)
        renderer("other-group", short, group=other_group, text_template="OTHER")
        e = event(photo_source)
        assert feed.render([e]) == {}

    def test_unknown_default_style_is_improperly_configured(self, feed, photo_source):
        e = event(photo_source)
        with (
            override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="missing"),
            pytest.raises(ImproperlyConfigured, match="DEFAULT_ENTITY_EVENT_RENDERING_STYLE.*'missing'"),
        ):
            feed.render([e])

    def test_event_without_renderer_is_left_out_and_logged(self, short, feed, photo_source, caplog):
        renderer("photo", short, source=photo_source, text_template="photo")
        product = Source.objects.create(name="product", display_name="Product", group=photo_source.group)
        rendered_event, skipped = event(photo_source), event(product)
        with caplog.at_level(logging.DEBUG, logger="entity_event.rendering.renderers"):
            result = feed.render([rendered_event, skipped])
        assert result == {rendered_event: ("photo", "")}
        assert (
            f"no context renderer for the event {skipped.pk} (uuid {skipped.uuid}, source {product.pk}) "
            "on the medium 'feed'" in caplog.text
        )
        with pytest.raises(NoContextRendererError, match="no context renderer matches"):
            skipped.render(feed)


class TestTemplates:
    def test_paths_with_hinted_rows(self, short, feed, photo_source, account):
        renderer(
            "account",
            short,
            source=photo_source,
            text_template_path="entity_event_tests/account.txt",
            html_template_path="entity_event_tests/account.html",
            context_hints=ACCOUNT_HINT,
        )
        e = event(photo_source, account=account.pk, message="a photo")
        assert feed.render([e]) == {
            e: ("alice of Blue posted a photo", "<p>alice of Blue posted a photo</p>")
        }

    def test_path_wins_over_inline(self, short, feed, photo_source, account):
        renderer(
            "account",
            short,
            source=photo_source,
            text_template_path="entity_event_tests/account.txt",
            text_template="inline text",
            html_template_path="entity_event_tests/account.html",
            html_template="inline html",
            context_hints=ACCOUNT_HINT,
        )
        e = event(photo_source, account=account.pk, message="m")
        text, html = feed.render([e])[e]
        assert text.startswith("alice") and html.startswith("<p>alice")

    def test_missing_template_gives_empty_output(self, short, feed, photo_source):
        renderer("html-only", short, source=photo_source, html_template="<b>{{ x }}</b>")
        e = event(photo_source, x=1)
        assert feed.render([e]) == {e: ("", "<b>1</b>")}

    @pytest.mark.parametrize("use_paths", [False, True])
    def test_text_is_not_escaped_and_html_is(self, short, feed, photo_source, account, use_paths):
        if use_paths:
            templates = {
                "text_template_path": "entity_event_tests/account.txt",
                "html_template_path": "entity_event_tests/account.html",
            }
        else:
            templates = {
                "text_template": "{{ account.name }} of {{ account.team.name }} posted {{ message }}",
                "html_template": "<p>{{ account.name }} of {{ account.team.name }} posted {{ message }}</p>",
            }
        renderer("r", short, source=photo_source, context_hints=ACCOUNT_HINT, **templates)
        e = event(photo_source, account=account.pk, message="<script>alert('x') & co</script>")
        text, html = feed.render([e])[e]
        assert text == "alice of Blue posted <script>alert('x') & co</script>"
        assert html == (
            "<p>alice of Blue posted &lt;script&gt;alert(&#x27;x&#x27;) &amp; co&lt;/script&gt;</p>"
        )

    def test_output_is_stripped(self, short, feed, photo_source):
        renderer(
            "r", short, source=photo_source, text_template="\n  hi {{ n }} \n", html_template=" <i>x</i>\n"
        )
        e = event(photo_source, n=2)
        assert feed.render([e]) == {e: ("hi 2", "<i>x</i>")}

    def test_additional_context_is_merged_over_the_context(self, short, photo_source):
        medium = Medium.objects.create(
            name="mail",
            display_name="Mail",
            rendering_style=short,
            additional_context={"header": "Hello", "message": "overridden"},
        )
        renderer("r", short, source=photo_source, text_template="{{ header }}: {{ message }} {{ kept }}")
        e = event(photo_source, message="original", kept="yes")
        assert medium.render([e]) == {e: ("Hello: overridden yes", "")}
        assert e.context == {"message": "original", "kept": "yes"}

    def test_additional_context_must_be_a_dict(self, short, photo_source):
        medium = Medium.objects.create(
            name="bad", display_name="Bad", rendering_style=short, additional_context=[1]
        )
        renderer("r", short, source=photo_source, text_template="x")
        with pytest.raises(TypeError, match="medium 'bad': additional_context must be a dict"):
            medium.render([event(photo_source)])

    def test_observing_entity(self, short, feed, photo_source, account, alice):
        renderer(
            "r",
            short,
            source=photo_source,
            text_template_path="entity_event_tests/account.txt",
            context_hints=ACCOUNT_HINT,
        )
        e = event(photo_source, account=account.pk, message="m")
        assert feed.render([e], observing_entity=alice)[e][0] == "alice of Blue posted m (seen by Alice)"
        assert e.render(feed) == ("alice of Blue posted m", "")
        assert e.render(feed, observing_entity=alice)[0].endswith("(seen by Alice)")

    def test_text_path_of_another_engine_renders_with_that_engine(self, short, feed, photo_source, tmp_path):
        (tmp_path / "greeting.txt").write_text("Hi $name <b>\n")
        engines = [
            {
                "BACKEND": "django.template.backends.dummy.TemplateStrings",
                "DIRS": [tmp_path],
                "APP_DIRS": False,
            }
        ]
        renderer("r", short, source=photo_source, text_template_path="greeting.txt")
        e = event(photo_source, name="Ann")
        with override_settings(TEMPLATES=engines):
            # TemplateStrings has no escaping of its own: the text is kept as is.
            assert feed.render([e]) == {e: ("Hi Ann <b>", "")}

    def test_missing_template_file_leaves_the_event_out_of_a_batch_and_raises_alone(
        self, short, feed, photo_source, caplog
    ):
        from django.template import TemplateDoesNotExist

        renderer("r", short, source=photo_source, html_template_path="entity_event_tests/nope.html")
        broken = event(photo_source)
        with caplog.at_level(logging.WARNING, logger="entity_event.rendering.renderers"):
            assert feed.render([broken]) == {}
        assert "failed: left out" in caplog.text and "TemplateDoesNotExist" in caplog.text
        loaded = Event.objects.filter(pk=broken.pk).load_contexts_and_renderers(feed)[0]
        with pytest.raises(TemplateDoesNotExist):
            loaded.render(feed)

    def test_a_template_that_raises_leaves_only_that_event_out(self, short, feed, photo_source, caplog):
        renderer("r", short, source=photo_source, text_template="{{ value|divisibleby:divisor }}")
        good = event(photo_source, value=4, divisor=2)
        bad = event(photo_source, value=4, divisor=0)
        with caplog.at_level(logging.WARNING, logger="entity_event.rendering.renderers"):
            assert feed.render([good, bad]) == {good: ("True", "")}
        assert (
            f"rendering the event {bad.pk} (uuid {bad.uuid}, source {photo_source.pk}) on the medium 'feed' "
            "with the context renderer 'r' failed: left out" in caplog.text
        )
        assert "ZeroDivisionError" in caplog.text

    @pytest.mark.parametrize("count", [2, 20])
    def test_logging_left_out_events_costs_no_query(
        self,
        short,
        feed,
        photo_source,
        product_source,
        caplog,
        count,
        django_assert_num_queries,
        read_only_statements,
    ):
        renderer("r", short, source=photo_source, text_template="{{ value|divisibleby:0 }}")
        events = [event(photo_source, value=1) for _ in range(count)]
        events += [event(product_source) for _ in range(count)]  # no renderer
        events = list(Event.objects.filter(pk__in=[e.pk for e in events]))  # sources not cached
        # the renderers (and the read-only scope): the events' sources are not read for the log
        with (
            caplog.at_level(logging.DEBUG, logger="entity_event.rendering.renderers"),
            django_assert_num_queries(1 + read_only_statements),
        ):
            assert feed.render(events) == {}
        assert caplog.text.count("failed: left out") == count
        assert caplog.text.count("no context renderer for the event") == count


class TestLoadContextsAndRenderers:
    def test_stores_loaded_context_and_renderer_on_each_event(self, short, feed, photo_source, account):
        chosen = renderer("r", short, source=photo_source, text_template="x", context_hints=ACCOUNT_HINT)
        e = event(photo_source, account=account.pk)
        events = Event.objects.filter(pk=e.pk).load_contexts_and_renderers(feed)
        assert events == [e]
        loaded = events[0].loaded_renderings[feed.pk]
        assert isinstance(loaded, LoadedRendering)
        assert loaded.renderer == chosen
        assert loaded.context == {"account": account}
        assert events[0].context == {"account": account.pk}

    def test_manager_method(self, short, feed, photo_source):
        e = event(photo_source, n=1)
        events = Event.objects.load_contexts_and_renderers(feed)
        assert events == [e]
        assert events[0].loaded_renderings[feed.pk] == LoadedRendering({"n": 1}, None)

    def test_event_without_renderer_keeps_a_copy_of_its_context(self, feed, photo_source):
        e = event(photo_source, nested={"a": [1]})
        [loaded_event] = Event.objects.filter(pk=e.pk).load_contexts_and_renderers(feed)
        context = loaded_event.loaded_renderings[feed.pk].context
        context["nested"]["a"].append(2)
        assert loaded_event.context == {"nested": {"a": [1]}}

    def test_several_mediums_on_one_event(self, short, long, feed, photo_source):
        mail = Medium.objects.create(name="mail", display_name="Mail", rendering_style=long)
        renderer("short", short, source=photo_source, text_template="short")
        renderer("long", long, source=photo_source, text_template="long")
        e = event(photo_source)
        feed.render([e])
        with pytest.raises(ContextNotLoadedError, match="not loaded for the medium 'mail'"):
            e.render(mail)
        mail.render([e])
        assert (e.render(feed), e.render(mail)) == (("short", ""), ("long", ""))

    def test_render_without_loading_raises_a_runtime_error(self, feed, photo_source):
        e = event(photo_source)
        with pytest.raises(RuntimeError, match="load_contexts_and_renderers"):
            e.render(feed)
        with pytest.raises(ContextNotLoadedError):
            e.get_serialized_context(feed)

    def test_empty_batch(self, feed):
        assert feed.render([]) == {}
        assert Event.objects.none().load_contexts_and_renderers(feed) == []

    def test_bad_arguments(self, feed, photo_source):
        e = event(photo_source)
        with pytest.raises(TypeError, match="medium: expected a saved Medium"):
            Event.objects.load_contexts_and_renderers("feed")
        with pytest.raises(ValueError, match="medium: the Medium .* is not saved"):
            e.render(Medium(name="unsaved"))
        with pytest.raises(TypeError, match=r"events\[1\]: expected an Event, got int"):
            feed.render([e, 3])

    def test_invalid_hints_in_the_database_are_improperly_configured(self, short, feed, photo_source):
        renderer("bad-hints", short, source=photo_source, text_template="x", context_hints={"a": {}})
        with pytest.raises(
            ImproperlyConfigured, match="context renderer 'bad-hints': context hint 'a' needs"
        ):
            feed.render([event(photo_source, a=1)])

    def test_a_mistyped_prefetch_lookup_in_the_database_is_improperly_configured(
        self, short, feed, photo_source, account
    ):
        hints = {"account": {"app_name": "testapp", "model_name": "Account", "prefetch_related": ["fotos"]}}
        renderer("typo", short, source=photo_source, text_template="x", context_hints=hints)
        with pytest.raises(
            ImproperlyConfigured,
            match="context renderer 'typo': context hint 'account': prefetch_related: 'fotos': testapp",
        ):
            feed.render([event(photo_source, account=account.pk)])

    def test_hints_that_fail_while_loading_fail_the_batch_naming_the_renderer(
        self, short, feed, photo_source, account
    ):
        # Hints that pass validation and still fail to load: what follows a generic foreign key
        # (Entity.entity) cannot be checked without rows, and the account has no relation "fotos".
        hints = {
            "owner": {"app_name": "entity", "model_name": "Entity", "prefetch_related": ["entity__fotos"]}
        }
        renderer("typo", short, source=photo_source, text_template="x", context_hints=hints).full_clean()
        owner = make_entity("Owner")
        owner.entity_id = account.pk
        owner.save()
        with pytest.raises(
            ImproperlyConfigured,
            match="loading entity.Entity for the context hints of the context renderer 'typo' failed: "
            "AttributeError",
        ):
            feed.render([event(photo_source, owner=owner.pk)])


class TestQueryCounts:
    """The number of queries does not depend on the batch size (docs/performance.rst)."""

    @pytest.fixture
    def setup(self, short, long, feed, photo_source, source_group):
        renderer(
            "photo",
            short,
            source=photo_source,
            text_template="{{ account.name }} {{ account.team.name }} {{ photo.title }} "
            "{% for t in photo.tagged.all %}{{ t.name }}{% endfor %} {{ team.name }}",
            html_template_path="entity_event_tests/account.html",
            context_hints={
                **ACCOUNT_HINT,
                "photo": {"app_name": "testapp", "model_name": "Photo", "prefetch_related": ["tagged"]},
                "team": {"app_name": "testapp", "model_name": "Team"},
            },
        )
        team = Team.objects.create(name="Blue")
        accounts = Account.objects.bulk_create(Account(name=f"a{i}", team=team) for i in range(5))
        photos = Photo.objects.bulk_create(Photo(uuid=uuid.uuid4(), title=f"p{i}") for i in range(5))
        for photo in photos:
            photo.tagged.set(accounts[:2])
        return accounts, photos, team

    def make_events(self, count, photo_source, setup):
        accounts, photos, team = setup
        return Event.objects.create_events(
            {
                "source": photo_source,
                "context": {
                    "account": accounts[i % 5].pk,
                    "photo": str(photos[i % 5].uuid),
                    "team": team.pk,
                    "message": f"m{i}",
                },
            }
            for i in range(count)
        )

    @pytest.mark.parametrize("count", [20, 200])
    def test_list_of_events(
        self, count, feed, photo_source, setup, django_assert_num_queries, read_only_statements
    ):
        events = self.make_events(count, photo_source, setup)
        # renderers, Account (+team), Photo, Photo.tagged prefetch, Team
        with django_assert_num_queries(5 + read_only_statements):
            rendered = feed.render(events)
        assert len(rendered) == count
        assert rendered[events[7]][0] == "a2 Blue p2 a0a1 Blue"

    @pytest.mark.parametrize("count", [20, 200])
    def test_queryset_with_default_style(
        self, count, feed, photo_source, setup, django_assert_num_queries, read_only_statements
    ):
        self.make_events(count, photo_source, setup)
        # + the events query and the default style lookup
        with (
            override_settings(DEFAULT_ENTITY_EVENT_RENDERING_STYLE="long"),
            django_assert_num_queries(7 + read_only_statements),
        ):
            rendered = feed.render(Event.objects.all())
        assert len(rendered) == count

    def test_medium_without_any_style_costs_no_query(self, photo_source, django_assert_num_queries):
        plain = Medium.objects.create(name="plain", display_name="Plain")
        e = event(photo_source)
        with django_assert_num_queries(0):
            assert plain.render([e]) == {}
