import inventory
from inventory import Inventory


def test_class():
    inv = Inventory()
    inv.add("apple", 3)
    inv.remove("apple")
    assert inv.count("apple") == 2


def test_never_negative():
    inv = Inventory()
    inv.remove("pear", 5)
    assert inv.count("pear") == 0


def test_module_functions_still_work():
    inventory.add("plum", 2)
    assert inventory.count("plum") == 2
