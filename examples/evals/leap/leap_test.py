from leap import leap_year


def test_ordinary_year():
    assert leap_year(2015) is False


def test_divisible_by_four():
    assert leap_year(1996) is True


def test_century():
    assert leap_year(1900) is False


def test_four_centuries():
    assert leap_year(2000) is True
