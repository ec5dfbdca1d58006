from greeting import greet
from names import title_case


def test_title_case():
    assert title_case("ada lovelace") == "Ada Lovelace"


def test_greet_uses_it():
    assert greet("ada   lovelace") == "Hello, Ada Lovelace!"
