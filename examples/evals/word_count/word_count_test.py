from word_count import count_words


def test_one_word():
    assert count_words("word") == {"word": 1}


def test_case_and_punctuation():
    assert count_words("Go, go! STOP.") == {"go": 2, "stop": 1}


def test_digits():
    assert count_words("1 fish 2 fish") == {"1": 1, "fish": 2, "2": 1}
