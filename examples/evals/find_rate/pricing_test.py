import config.settings
import pricing


def test_price():
    assert pricing.price_with_tax(100) == 119.0


def test_uses_the_constant(monkeypatch):
    monkeypatch.setattr(config.settings, "VAT_RATE", 0.5)
    monkeypatch.setattr(pricing, "VAT_RATE", 0.5, raising=False)
    assert pricing.price_with_tax(10) == 15.0
