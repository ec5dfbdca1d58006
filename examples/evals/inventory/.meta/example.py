class Inventory:
    def __init__(self):
        self._stock = {}

    def add(self, name, count=1):
        self._stock[name] = self._stock.get(name, 0) + count

    def remove(self, name, count=1):
        self._stock[name] = max(0, self._stock.get(name, 0) - count)

    def count(self, name):
        return self._stock.get(name, 0)


_default = Inventory()
add = _default.add
remove = _default.remove
count = _default.count
