from average import average


def test_simple():
    assert average([2, 4, 6]) == 4


def test_single():
    assert average([5]) == 5


def test_empty():
    assert average([]) == 0.0
