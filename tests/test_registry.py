import attrs
import pytest

from seps.errors import ConfigError, DuplicateComponentError, SepsError, UnknownComponentError
from seps.registry import PARTITIONERS, Registry, resolve


@attrs.frozen(kw_only=True)
class Widget:
    size: int = attrs.field(default=1, validator=attrs.validators.ge(1))


def make_registry() -> Registry:
    registry: Registry = Registry("widget", "decorate it with @WIDGETS.register('name')")
    registry.register("small-widget", Widget)
    registry.register("large-widget", Widget)
    registry.register("lazy-widget", "tests.test_registry:Widget")
    return registry


def test_decorator_registers_and_returns_the_object():
    registry = make_registry()

    @registry.register("decorated")
    class Decorated:
        pass

    assert registry.get("decorated") is Decorated
    assert "decorated" in registry


def test_list_is_sorted_and_filters_by_pattern():
    registry = make_registry()
    assert registry.list() == ["large-widget", "lazy-widget", "small-widget"]
    assert registry.list("l*") == ["large-widget", "lazy-widget"]
    assert registry.list("nothing*") == []


def test_registering_a_name_twice_is_an_error():
    registry = make_registry()
    with pytest.raises(DuplicateComponentError, match="'small-widget' is already registered"):
        registry.register("small-widget", Widget)


def test_unknown_name_names_kind_closest_match_valid_names_and_how_to_register():
    registry = make_registry()
    with pytest.raises(UnknownComponentError) as info:
        registry.get("smal-widget")
    message = str(info.value)
    assert message == (
        "unknown widget 'smal-widget'. Did you mean 'small-widget'? "
        "Valid names: large-widget, lazy-widget, small-widget. "
        "To use your own, decorate it with @WIDGETS.register('name') or pass 'package.module:ClassName'."
    )
    assert isinstance(info.value, KeyError) and isinstance(info.value, SepsError)


def test_lazy_entry_imports_on_first_get():
    assert make_registry().get("lazy-widget") is Widget


def test_import_string_plugs_in_without_registering():
    assert make_registry().get("tests.test_registry:Widget") is Widget


def test_bad_import_string_explains_both_problems():
    with pytest.raises(UnknownComponentError, match="cannot import module 'no_such_module'"):
        make_registry().get("no_such_module:Thing")
    with pytest.raises(UnknownComponentError, match="has no attribute 'Nope'"):
        make_registry().get("tests.test_registry:Nope")


def test_family_builds_from_argument():
    registry = make_registry()
    registry.register_family("sized", lambda arg: Widget(size=int(arg)))
    assert registry.get("sized:4") == Widget(size=4)
    assert "sized" in registry.families()


def test_resolve_validates_options_of_attrs_components():
    registry = make_registry()
    assert resolve(registry, "small-widget", size=3) == Widget(size=3)
    with pytest.raises(ConfigError, match="widget 'small-widget' has no option 'colour'; valid options: size"):
        resolve(registry, "small-widget", colour="red")
    with pytest.raises(ConfigError, match="'size' must be >= 1: 0"):
        resolve(registry, "small-widget", size=0)


def test_resolve_returns_instances_unchanged_and_refuses_options_for_them():
    registry = make_registry()
    widget = Widget(size=2)
    assert resolve(registry, widget) is widget
    with pytest.raises(ConfigError, match="cannot be applied to an already built"):
        resolve(registry, widget, size=3)


def test_builtin_registries_are_populated():
    import seps.clustering  # noqa: F401

    assert "kmeans_db" in PARTITIONERS
