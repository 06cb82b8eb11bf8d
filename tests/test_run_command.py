"""`trainlab run` as a user meets it: nothing replaced without --overwrite, the report kept up to
date, a diverged seed written as strict JSON and said, bad --workers/--data-dir refused before
anything is written, and the whole chapter on a real Dask cluster giving the local run's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainlab.cli import main
from trainlab.experiments import names as experiment_names


def cli(capsys, *argv):
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def strict(path: Path):
    return json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{path} holds {c}"))


TIMES = {"seconds", "wall_time", "wall_time_s", "elapsed_s", "search_seconds"}


def timeless(value):
    """``value`` without the fields that hold clock times (the only thing allowed to differ)."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [timeless(v) for v in value]
    return value


def test_a_run_is_never_replaced_without_overwrite(capsys, tmp_path):
    out = tmp_path / "runs"
    assert cli(capsys, "run", "optimizer-race", "--out", out)[0] == 0
    first = (out / "optimizer-race" / "run.json").read_bytes()
    rc, _, err = cli(capsys, "run", "optimizer-race", "--out", out, "--set", "steps=5")
    assert rc == 2 and "--overwrite" in err and "optimizer-race" in err and "Traceback" not in err
    assert (out / "optimizer-race" / "run.json").read_bytes() == first
    rc, _, err = cli(capsys, "run", "optimizer-race", "--out", out, "--set", "steps=5", "--overwrite")
    assert rc == 0, err
    assert strict(out / "optimizer-race" / "run.json")["config"]["steps"] == 5


def test_a_reduced_run_does_not_replace_a_full_one_and_says_it_is_reduced(capsys, tmp_path):
    out = tmp_path / "runs"
    assert cli(capsys, "run", "optimizer-race", "--out", out)[0] == 0
    rc, _, err = cli(capsys, "run", "optimizer-race", "--out", out, "--reduced")
    assert rc == 2 and "--overwrite" in err
    assert strict(out / "optimizer-race" / "run.json")["reduced"] is False
    assert cli(capsys, "run", "optimizer-race", "--out", out, "--reduced", "--overwrite")[0] == 0
    assert strict(out / "optimizer-race" / "run.json")["reduced"] is True


def test_the_report_is_brought_up_to_date_after_each_run(capsys, tmp_path):
    out = tmp_path / "runs"
    assert cli(capsys, "run", "optimizer-race", "--out", out)[0] == 0
    page = (out / "report.html").read_text()
    assert "optimizer-race" in page and "init-mnist" not in page
    assert cli(capsys, "run", "init-mnist", "--reduced", "--seeds", "1", "--out", out)[0] == 0
    page = (out / "report.html").read_text()
    assert "optimizer-race" in page and "init-mnist" in page


def test_a_diverged_seed_is_null_in_strict_json_the_run_says_diverged_and_exits_1(capsys, tmp_path):
    out = tmp_path / "runs"
    rc, stdout, err = cli(capsys, "run", "optimizer-mnist", "--reduced", "--seeds", "1", "--out", out,
                          "--set", "lr_sgd=1e6")
    assert rc == 1, err
    run = tmp_path / "runs" / "optimizer-mnist"
    manifest = strict(run / "run.json")
    assert manifest["status"] == "diverged" and "sgd" in manifest["message"]
    for path in run.rglob("*.json"):
        strict(path)
    claims = strict(run / "claims.json")
    assert claims[-1]["name"] == "every seed trained without diverging" and claims[-1]["passed"] is False
    assert "sgd" in claims[-1]["detail"]


@pytest.mark.parametrize("argv, words", [
    (["--workers", "0"], ["--workers", ">= 1"]),
    (["--workers", "999"], ["--workers 999", "cores"]),
    (["--seeds", "0"], ["--seeds", ">= 1"]),
    (["--data-dir", "/nonexistent/idx"], ["--data-dir", "/nonexistent/idx"]),
    (["--set", "steps=-5"], ["--set", "'steps'", ">= 1"]),
    (["--dask-scheduler", "tcp://127.0.0.1:1", "--dask-timeout", "1"], ["tcp://127.0.0.1:1", "refused", "dask scheduler"]),
])
def test_bad_run_options_exit_2_before_anything_is_written(capsys, tmp_path, argv, words):
    out = tmp_path / "runs"
    rc, _, err = cli(capsys, "run", "optimizer-race", "--out", out, *argv)
    assert rc == 2 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    assert not out.exists()


distributed = pytest.importorskip("distributed")


@pytest.mark.slow
def test_run_all_on_a_dask_cluster_gives_the_local_numbers(capsys, tmp_path):
    """Every seed of every experiment (reduced) on a LocalCluster of 2 worker processes on loopback:
    the same curves and summaries as the same seeds in this process."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
    try:
        rc, _, err = cli(capsys, "run", "all", "--reduced", "--seeds", "1", "--out", tmp_path / "dask",
                         "--dask-scheduler", cluster.scheduler_address)
    finally:
        cluster.close()
    assert rc in (0, 1), err  # a claim may fail at reduced size; nothing may crash
    rc, _, err = cli(capsys, "run", "all", "--reduced", "--seeds", "1", "--out", tmp_path / "local", "--workers", "1")
    assert rc in (0, 1), err
    names = sorted(p.name for p in (tmp_path / "local").iterdir() if (p / "run.json").exists())
    assert names == sorted(p.name for p in (tmp_path / "dask").iterdir() if (p / "run.json").exists())
    assert names == sorted(experiment_names())  # every experiment: the book's nine and the three instruments
    for name in names:
        local, remote = tmp_path / "local" / name, tmp_path / "dask" / name
        assert strict(remote / "run.json")["status"] == strict(local / "run.json")["status"] != "crashed", name
        for seed in sorted((local / "seeds").glob("*.json")):
            assert timeless(strict(seed)) == timeless(strict(remote / "seeds" / seed.name)), (name, seed.name)
        assert timeless(strict(remote / "summary.json")) == timeless(strict(local / "summary.json")), name
        assert strict(remote / "claims.json") == strict(local / "claims.json"), name


def test_train_and_search_into_a_folder_with_a_report_bring_it_up_to_date(capsys, tmp_path):
    runs = tmp_path / "runs"
    assert cli(capsys, "run", "optimizer-race", "--out", runs)[0] == 0
    assert cli(capsys, "train", "--train-size", "300", "--epochs", "1", "--hidden", "20", "-q",
               "--out", runs / "adam")[0] == 0
    assert cli(capsys, "search", "--trials", "2", "--epochs", "1", "--train-size", "200", "--hidden", "20",
               "-q", "--out", runs / "search")[0] == 0
    page = (runs / "report.html").read_text()
    assert "optimizer-race" in page and "adam" in page and "search" in page
    # a folder without a report gets none: nobody asked for one there
    assert cli(capsys, "train", "--train-size", "300", "--epochs", "1", "--hidden", "20", "-q",
               "--out", tmp_path / "alone" / "adam")[0] == 0
    assert not (tmp_path / "alone" / "report.html").exists()


def test_experiments_with_slow_figures_are_scheduled_before_the_cheap_seeds():
    """activation-histograms' seeds take 0.4 s but its figures ~18 s in the parent: scheduled by seed
    time alone it ran last and its figures were drawn alone at the end of run all."""
    from trainlab.executor import InProcess, run_all
    from trainlab.experiments import get
    from trainlab.experiments.runner import seed_cost

    hist, sched, race = get("activation-histograms"), get("schedules"), get("optimizer-race")
    assert hist.finish_seconds > sched.seed_seconds > hist.seed_seconds
    assert seed_cost(hist) > seed_cost(sched) and seed_cost(race) == race.seed_seconds + race.finish_seconds
    assert seed_cost(hist, reduced=True) == pytest.approx(seed_cost(hist) / 10)
    started = []
    jobs = [("schedules",), ("activation-histograms",)]
    order = [i for i, _, _ in run_all(InProcess(), lambda name: started.append(name), jobs,
                                      [seed_cost(get(n)) for (n,) in jobs])]
    assert started == ["activation-histograms", "schedules"] and order == [1, 0]
