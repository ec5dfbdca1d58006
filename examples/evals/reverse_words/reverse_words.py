def reverse_words(text):
    pass
