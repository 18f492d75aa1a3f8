"""The product table (generator/data/products.yml) against the model's enumerations."""

from __future__ import annotations

import re
from typing import get_args

from generator.facts import product_pair, product_table
from generator.model import ExchangeProduct, LyncProduct


def test_every_product_of_the_model_has_its_facts_and_no_more() -> None:
    table = product_table()
    assert sorted(table["lync"]) == sorted(get_args(LyncProduct))
    assert sorted(table["exchange"]) == sorted(get_args(ExchangeProduct))
    for facts in table["lync"].values():
        assert {"name", "short", "shell"} <= set(facts)
    for facts in table["exchange"].values():
        assert {
            "name",
            "shell",
            "get_client_access",
            "set_client_access",
            "autodiscover_form",
        } <= set(facts)


def test_documented_pairs_name_known_products_and_exchange_2019_is_undocumented() -> None:
    table = product_table()
    for pair in table["documented_pairs"]:
        assert pair["lync"] in table["lync"] and pair["exchange"] in table["exchange"]
        # Each side says what its pages document, citing them.
        assert re.search(r"\[[A-Z]+-[A-Z0-9]+\]", pair["lync_side"])
        assert re.search(r"\[[A-Z]+-[A-Z0-9]+\]", pair["exchange_side"])
    for lync in get_args(LyncProduct):
        assert not product_pair(lync, "exchange2019").documented  # FACTS.md section 2
    assert product_pair("lync2013", "exchange2013").documented
