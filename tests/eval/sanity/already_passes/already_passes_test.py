from already_passes import double


def test_double():
    assert double(4) == 8
