from config.settings import VAT_RATE


def price_with_tax(net):
    return round(net * (1 + VAT_RATE), 2)
