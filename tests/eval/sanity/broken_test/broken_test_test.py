from broken_test import double


def test_double():
    assert double(4) == 9  # broken on purpose
