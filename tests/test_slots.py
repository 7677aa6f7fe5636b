"""Models built through a twin class (bexvendre_mapping._slots) are the models __init__ builds.

The generated loaders and builders, and ModelCode.parse, fill a new instance of a frozen
class through a subclass that takes plain stores, then change its class. What comes out must
be an ordinary instance of the model class: of that exact type, equal, with the same hash,
still frozen, weak-referable and picklable. Where Python refuses the twin, the slots'
``__set__`` builds the same models.
"""

from __future__ import annotations

import gc
import linecache
import pickle
import weakref
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bexvendre_mapping import ModelCode, bex, vendre
from bexvendre_mapping import testing as strategies
from bexvendre_mapping._fastpath import fast_builder, fast_dumper, fast_loader
from bexvendre_mapping._slots import twin
from bexvendre_mapping._wire import unstructure_hook, wire

ZONE = "Europe/Stockholm"


def _every_model(value: Any) -> list[Any]:
    """``value`` and every attrs instance inside it, depth first."""
    found: list[Any] = []
    if attrs.has(type(value)):
        found.append(value)
        for field in attrs.fields(type(value)):
            found.extend(_every_model(getattr(value, field.name)))
    elif isinstance(value, tuple):
        for item in value:
            found.extend(_every_model(item))
    return found


@given(strategies.vendre_orders())
def test_loaded_models_are_of_their_own_class(model: vendre.Order) -> None:
    order = vendre.load_order(vendre.dumps_order(model))
    assert order == model
    for part in _every_model(order):
        assert type(part).__module__ != "bexvendre_mapping._slots"
        assert type(part).__qualname__ == type(part).__name__  # not twin.<...>
    assert type(order.products[0].model) is ModelCode


def test_a_twin_built_model_is_the_model_init_builds() -> None:
    loaded = vendre.load_order_product(
        {"quantity": 2, "model": "1001_SKO_42", "name": "Sko", "price": "1.0000", "tax": "25"}
    )
    called = vendre.OrderProduct(
        quantity=2,
        model=ModelCode("1001", "SKO", "42"),
        name="Sko",
        price=loaded.price,
        tax=loaded.tax,
    )
    assert type(loaded) is vendre.OrderProduct
    assert type(loaded.model) is ModelCode
    assert loaded == called
    assert hash(loaded) == hash(called)
    assert repr(loaded) == repr(called)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        loaded.quantity = 3  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del loaded.name  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        loaded.model.size = "43"  # type: ignore[misc]
    assert weakref.ref(loaded)() is loaded
    again = pickle.loads(pickle.dumps(loaded))  # noqa: S301 - our own bytes
    assert type(again) is vendre.OrderProduct
    assert again == loaded
    assert attrs.evolve(loaded, quantity=3).quantity == 3


def test_builders_and_loaders_store_through_the_twin() -> None:
    for function in (fast_builder(bex.Row), fast_loader(vendre.Total, ZONE, False)):
        source = "".join(linecache.getlines(function.__code__.co_filename))
        assert "r.__class__ = " in source
        assert "_set_" not in source


def test_a_twin_is_a_subclass_adding_nothing() -> None:
    made = twin(bex.Row)
    assert made is not None
    assert made.__bases__ == (bex.Row,)
    assert made.__slots__ == ()
    assert made.__basicsize__ == bex.Row.__basicsize__
    assert twin(bex.Row) is made  # made once


@attrs.frozen(kw_only=True)
class _NoTwin:
    """A class refusing subclasses: Python cannot make a twin of it."""

    name: str = attrs.field(metadata=wire("Name"))
    count: int = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError(f"{cls.__name__}: no subclasses")


def test_without_a_twin_the_slots_are_set_one_by_one() -> None:
    assert twin(_NoTwin) is None
    loader = fast_loader(_NoTwin, ZONE, False)
    source = "".join(linecache.getlines(loader.__code__.co_filename))
    assert "_set_" in source
    assert "__class__" not in source
    loaded = loader({"Name": "a", "count": "3"})
    assert type(loaded) is _NoTwin
    assert loaded == _NoTwin(name="a", count=3)
    built = fast_builder(_NoTwin)(name="b", count=4)
    assert type(built) is _NoTwin
    assert built == _NoTwin(name="b", count=4)


class _Code(ModelCode):
    """A subclass of ModelCode: parse must give one of these, not a plain ModelCode."""

    __slots__ = ()


@pytest.mark.parametrize("text", ["1001_SKO_42", "JKT_001_KL_M", "GIFTBOX", " spaced_G_1"])
def test_parse_of_a_subclass_gives_the_subclass(text: str) -> None:
    parsed = _Code.parse(text.strip())
    assert type(parsed) is _Code
    assert str(parsed) == text.strip()
    plain = ModelCode.parse(text.strip())
    assert type(plain) is ModelCode
    assert (plain.article, plain.size_group, plain.size) == (
        parsed.article,
        parsed.size_group,
        parsed.size,
    )


def test_no_twin_instance_is_left_alive() -> None:
    """Every instance made through a twin has become its class: none of the twin's remains."""
    document = {
        "quantity": 1,
        "model": "1001_SKO_42",
        "name": "Sko",
        "price": "1.0000",
        "tax": "25.0000",
    }
    kept = [vendre.load_order_product(document) for _ in range(50)]
    twins = {twin(vendre.OrderProduct), twin(ModelCode)}
    assert None not in twins
    assert not [o for o in gc.get_objects() if type(o) in twins]
    assert len(kept) == 50


@pytest.mark.parametrize(
    "present",
    [(), ("email",), ("phone", "mobile"), ("email", "phone", "mobile"), ("address2",)],
)
def test_dumped_optional_keys_keep_their_place(present: tuple[str, ...]) -> None:
    """The dumper's dict displays (all optional keys, none, some) give the reference's dict."""
    values = {"address2": "c/o", "email": "a@b.se", "phone": "08-1", "mobile": "070-1"}
    orderer = bex.Orderer(
        name="A",
        address="Gatan 1",
        postcode="111 22",
        city="Stockholm",
        **{k: v for k, v in values.items() if k in present},
    )
    dumped = fast_dumper(bex.Orderer, ZONE)(orderer)
    reference = unstructure_hook(bex.Orderer, ZONE)(orderer)
    assert list(dumped.items()) == list(reference.items())
    assert len(dumped) == 4 + len(present)  # Namn, Adress, PostNr, Ort and those given


@given(st.sampled_from([bex.Row, bex.InvoiceAddress, bex.Orderer]), st.data())
def test_dumped_rows_and_addresses_match_the_reference(cls: type, data: st.DataObject) -> None:
    order = data.draw(strategies.bex_orders())
    models = {
        bex.Row: order.rows,
        bex.InvoiceAddress: (order.invoice_address,),
        bex.Orderer: (order.orderer,),
    }[cls]
    for model in models:
        dumped = fast_dumper(cls, ZONE)(model)
        assert list(dumped.items()) == list(unstructure_hook(cls, ZONE)(model).items())
