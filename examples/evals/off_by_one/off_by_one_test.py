from off_by_one import last_n


def test_two():
    assert last_n([1, 2, 3, 4], 2) == [3, 4]


def test_zero():
    assert last_n([1, 2, 3], 0) == []


def test_more_than_all():
    assert last_n([1, 2], 5) == [1, 2]
