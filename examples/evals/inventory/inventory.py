_stock = {}


def add(name, count=1):
    _stock[name] = _stock.get(name, 0) + count


def remove(name, count=1):
    _stock[name] = max(0, _stock.get(name, 0) - count)


def count(name):
    return _stock.get(name, 0)
