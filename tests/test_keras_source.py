"""The keras.datasets.imdb path, on data the test makes (this machine is offline)."""

import numpy as np
import pytest

from sentilens.codec import tokenize
from sentilens.errors import DataError
from trainer import data


def fake_fetch():
    word_index = {"the": 1, "movie": 2, "was": 3, "great": 4, "awful": 5}
    # Keras shifts ranks by index_from=3 and prepends start id 1
    xtr = [[1, 4, 5, 6, 7], [1, 4, 5, 6, 8]]
    xte = [[1, 5, 6, 7, 2]]  # 2 = OOV
    return (xtr, np.array([1, 0])), (xte, np.array([1])), word_index


def test_keras_ids_decode_back_to_words_with_the_same_conventions():
    corpus = data.load_keras_imdb(fetch=fake_fetch)
    assert corpus.train.texts == ["the movie was great", "the movie was awful"]
    assert corpus.test.texts == ["movie was great"]
    assert corpus.train.labels.tolist() == [1, 0]
    assert tokenize(corpus.train.texts[0]) == ["the", "movie", "was", "great"]


def test_offline_download_fails_at_once_naming_data(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no Keras cache
    monkeypatch.setattr(data, "KERAS_HOST", ("127.0.0.1", 9))  # discard port: refused
    with pytest.raises(DataError, match=r"pass --data with an aclImdb directory or .tar.gz"):
        data.load_keras_imdb()


def test_trainer_cli_reports_data_errors_without_traceback(tmp_path, capsys):
    from trainer.__main__ import main

    assert main(["--data", str(tmp_path / "nope.tar.gz"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope.tar.gz: no such file" in err and "Traceback" not in err


def test_presets_and_command_line_overrides():
    from trainer.__main__ import config_from, parse_args

    tutorial = config_from(parse_args(["--preset", "tutorial"]))
    assert (tutorial.model.vocab_size, tutorial.model.embed_dim, tutorial.model.units, tutorial.model.maxlen) == (
        88_584, 32, 32, 250)
    assert tutorial.epochs == 10 and tutorial.patience is None and tutorial.batch_size == 64
    assert tutorial.model.cell == "lstm" and tutorial.model.dropout == 0 and tutorial.model.ema_momentum is None
    cfg = config_from(parse_args(["--cell", "gru", "--units", "16", "--maxlen", "100", "--patience", "0",
                                  "--seed", "7", "--word-dropout", "0.1"]))
    assert (cfg.model.cell, cfg.model.units, cfg.model.maxlen, cfg.model.word_dropout) == ("gru", 16, 100, 0.1)
    assert cfg.patience is None and cfg.seed == 7
    default = config_from(parse_args([]))
    assert default.model.units == 64 and default.patience == 2  # overrides did not leak into the preset


@pytest.mark.parametrize("args, message", [
    (["--vocab-size", "3"], "--vocab-size must be more than the 4 reserved ids"),
    (["--maxlen", "0"], "--embed-dim, --units and --maxlen must be at least 1"),
    (["--dropout", "1.5"], "--dropout and --word-dropout must be in [0, 1)"),
    (["--epochs", "0"], "--epochs must be at least 1"),
])
def test_settings_that_cannot_train_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    from trainer.__main__ import main

    assert main([*args, "--data", str(tmp_path / "nope.tar.gz"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {message}"]
