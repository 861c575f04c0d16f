"""The report's split sentences (ssvae/analysis/protocol.py) restate the loaders: the constants
they copy must be the loaders' own, and each data set gets its own sentence."""
from ssvae.analysis import protocol
from ssvae.data import digits, folder, split


def test_copied_constants_match_the_loaders():
    assert (protocol.digits.TEST_SEED, protocol.digits.VAL_SEED) == (digits.TEST_SEED,
                                                                     digits.VAL_SEED)
    assert (protocol.folder.TEST_SEED, protocol.folder.VAL_SEED, protocol.folder.TEST_DIR,
            protocol.folder.UNLABELLED_DIR) == (folder.TEST_SEED, folder.VAL_SEED,
                                                folder.TEST_DIR, folder.UNLABELLED_DIR)
    assert protocol.split.VAL_SEED == split.VAL_SEED


def test_digits_counts_are_the_loaders():
    data = digits.load_digits()
    assert (len(data.train_y) - data.standard_val_size, data.standard_val_size,
            len(data.test_y)) == (1150, 288, 359)
    assert "1,150" in protocol.STANDARD_SPLITS["digits"]
    assert "288 images" in protocol.STANDARD_SPLITS["digits"]
    assert "359 images" in protocol.STANDARD_SPLITS["digits"]


def test_a_drawn_validation_part_is_said():
    standard = protocol.split_sentence("mnist", {None})
    assert standard == protocol.STANDARD_SPLITS["mnist"]
    drawn = protocol.split_sentence("mnist", {None, 1000})
    assert drawn.startswith(standard) and "some runs drew validation" in drawn
    assert "1,000 images" in drawn and f"seed {protocol.split.VAL_SEED}" in drawn
    assert "every run drew" in protocol.split_sentence("digits", {100})
    assert "python -m ssvae.data describe" in protocol.split_sentence("my_set", {None})
