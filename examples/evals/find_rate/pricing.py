def price_with_tax(net):
    pass
