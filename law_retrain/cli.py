"""The retraining commands of ``antrean`` (registered by ``antrean.cli``).

Review what the assistant did not understand, retrain, compare, promote only a model that is
not worse, and roll back.

Commands (help texts in Indonesian, guide in docs/panduan-petugas.md, "Melatih ulang model"):

- ``ekspor-ulasan``  fallback and low-confidence messages of the tracker store → review CSV
- ``impor-ulasan``   labelled review CSV → ``data/nlu/reviewed.yml``, then ``rasa data validate``
- ``latih-kandidat`` train a candidate model into ``models/latih-ulang/``
- ``bandingkan``     per-intent F1 and macro-F1 of the current model and the candidate
- ``promosikan``     load the candidate into the running Rasa server if it is not worse
- ``kembalikan``     load the previously active model again
- ``riwayat-model``  the promoted models and what the server runs

The work itself lives in the other modules of ``law_retrain`` (``review_file``, ``training``,
``scores``, ``promotion``, ``server``, ``history``), which the console uses too; the handlers
here only read the options and print. Problems staff can fix are raised as ``StaffError`` (exit
codes as in ``antrean.cli``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
import time
from pathlib import Path

from antrean.bootstrap import office_clock
from antrean.settings import Settings
from antrean.staff.common import StaffError, parse_date, render_table, write_csv
from antrean.staff.tracker import TrackerStore, tracker_url_from_env
from law_retrain.history import History
from law_retrain.job import training_lock
from law_retrain.messages import DEFAULT_CONFIDENCE_THRESHOLD
from law_retrain.models import ModelInfo, ProjectPaths
from law_retrain.promotion import (
    promote,
    resolve_candidate,
    resolve_current,
    roll_back,
    scores_of,
)
from law_retrain.review_file import (
    REVIEW_COLUMNS,
    BarProgress,
    collect_for_review,
    plan_import,
    read_review_file,
    review_rows,
)
from law_retrain.scores import DEFAULT_MARGIN, TOLERANCE, Comparison
from law_retrain.server import Topology
from law_retrain.training import (
    candidate_name,
    train_candidate,
    validate_project,
    validation_errors,
)
from law_retrain.training_data import append_examples, domain_intents, restore, training_examples


def _staff_member() -> str:
    """Who ran the command, for the history (the console names its logged-in user)."""
    try:
        return f"antrean ({getpass.getuser()})"
    except (KeyError, OSError):
        return "antrean"


def _now() -> dt.datetime:
    """Now at the office (its time zone from office.yml, ``LAW_FIXED_NOW`` in tests)."""
    return office_clock(Settings.from_env()).now()


def _paths(args: argparse.Namespace) -> ProjectPaths:
    return ProjectPaths.at(args.proyek, getattr(args, "set_uji", None))


def _shown(path: Path, paths: ProjectPaths) -> str:
    try:
        return str(path.resolve().relative_to(paths.root))
    except ValueError:
        return str(path)


def _for_shell(path: Path) -> str:
    """``path`` as staff would type it from the current directory."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


# --- ekspor-ulasan / impor-ulasan ---------------------------------------------------------
def run_export(args: argparse.Namespace) -> int:
    paths, now = _paths(args), _now()
    since = None
    if args.sejak:
        day = parse_date(args.sejak, now.date())
        since = dt.datetime.combine(day, dt.time(0, 0), tzinfo=now.tzinfo)
    known = training_examples(paths.nlu) if paths.nlu.exists() else {}
    store = TrackerStore(args.tracker or tracker_url_from_env())
    try:
        result = collect_for_review(store, args.ambang, since, known,
                                    progress=BarProgress("Membaca percakapan"))
    finally:
        store.dispose()
    # Under var/ by default: ignored by git, beside the conversations it comes from.
    output = args.keluar
    if output is None:
        output = str(paths.root / "var" / f"ulasan-{now:%Y-%m-%d}.csv")
        Path(output).parent.mkdir(parents=True, exist_ok=True)
    write_csv(output, REVIEW_COLUMNS, review_rows(result.items))
    screen = sys.stderr if output == "-" else sys.stdout  # keep a piped CSV clean
    print(f"{result.scanned} pesan pemohon dibaca; {result.matched} tidak dipahami (fallback) "
          f"atau keyakinannya di bawah {args.ambang:.2f}.", file=screen)
    if result.already_known:
        print(f"{result.already_known} teks sudah ada di data latih; tidak diekspor.",
              file=screen)
    if output == "-":
        return 0
    typed = _for_shell(Path(output))
    print(f"{len(result.items)} teks unik ditulis ke {typed}.")
    print(f"Isi kolom intent_benar, lalu jalankan: antrean impor-ulasan {typed}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    paths, source = _paths(args), Path(args.file)
    rows = read_review_file(source)
    intents = domain_intents(paths.domain)
    existing = training_examples(paths.nlu) if paths.nlu.exists() else {}
    result = plan_import(rows, intents, existing, paths.reviewed)
    for note in result.duplicates + result.warnings:
        print(f"  {note}")
    print(f"{len(rows)} baris dibaca: {result.added_count} contoh baru, "
          f"{len(result.duplicates)} duplikat dilewati, {result.blank} belum diisi dilewati.")
    if not result.added:
        print("Tidak ada contoh baru; data latih tidak diubah.")
        return 0
    previous = append_examples(paths.reviewed, result.added, source.name, _now().date())
    check = validate_project(paths)
    if check.returncode != 0:
        restore(paths.reviewed, previous)
        errors = validation_errors(check)
        raise StaffError(
            "rasa data validate menemukan masalah; impor dibatalkan dan "
            f"{_shown(paths.reviewed, paths)} dikembalikan seperti semula:\n"
            + "\n".join(f"  {line}" for line in errors), 1)
    for intent, texts in sorted(result.added.items()):
        print(f"  {intent:22s} +{len(texts)}")
    print(f"{result.added_count} contoh ditambahkan ke {_shown(paths.reviewed, paths)}; "
          "rasa data validate lulus.")
    print("Langkah berikut: antrean latih-kandidat")
    return 0


# --- latih-kandidat / bandingkan ----------------------------------------------------------
def run_train(args: argparse.Namespace) -> int:
    paths = _paths(args)
    name = candidate_name(_now(), paths.retrain)
    kind = "hanya NLU" if args.hanya_nlu else "NLU dan dialog"
    print(f"Melatih model kandidat {name} ({kind}); ini bisa makan waktu beberapa menit ...")
    started = time.monotonic()
    with training_lock(paths):  # one training at a time, also against the console's
        model = train_candidate(paths, name, nlu_only=args.hanya_nlu)
    history = History.load(paths.retrain)
    history.latest_candidate = str(model)
    history.save()
    print(f"Kandidat siap dalam {time.monotonic() - started:.0f} dtk: {_shown(model, paths)}")
    print("Langkah berikut: antrean bandingkan")
    return 0


def compare_models(args: argparse.Namespace, paths: ProjectPaths, history: History
                   ) -> tuple[ModelInfo, ModelInfo, Comparison]:
    candidate = resolve_candidate(args.kandidat, history, paths)
    current = resolve_current(args.model_saat_ini, history, paths)
    print(f"Membandingkan pada {_shown(paths.test_set, paths)}:", file=sys.stderr)
    comparison = Comparison(scores_of(current, paths, history),
                            scores_of(candidate, paths, history), args.batas_turun)
    print_comparison(comparison, current, candidate, paths)
    return current, candidate, comparison


def print_comparison(comparison: Comparison, current: ModelInfo, candidate: ModelInfo,
                     paths: ProjectPaths) -> None:
    before, after = comparison.current.macro_f1, comparison.candidate.macro_f1
    rows = [[intent, f"{old:.3f}", f"{new:.3f}", f"{change:+.3f}",
             "TURUN" if -change > comparison.margin + TOLERANCE else ""]
            for intent, old, new, change in comparison.rows()]
    rows.append(["macro-F1", f"{before:.3f}", f"{after:.3f}", f"{after - before:+.3f}",
                 "TURUN" if after < before - TOLERANCE else ""])
    headers = ["intent (F1)", "saat ini", "kandidat", "selisih", "catatan"]
    if not any(row[-1] for row in rows):
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    print(f"\nModel saat ini : {_shown(current.path, paths)}")
    print(f"Kandidat       : {_shown(candidate.path, paths)}\n")
    print(render_table(headers, rows, right=(1, 2, 3)))
    problems = comparison.problems()
    if problems:
        print("\nHasil: kandidat TIDAK LAYAK dipromosikan:")
        for problem in problems:
            print(f"  - {problem}")
    else:
        print(f"\nHasil: kandidat LAYAK dipromosikan (macro-F1 tidak turun, tidak ada intent "
              f"yang turun lebih dari {comparison.margin:.2f}).")


def run_compare(args: argparse.Namespace) -> int:
    paths = _paths(args)
    history = History.load(paths.retrain)
    _, _, comparison = compare_models(args, paths, history)
    return 0 if comparison.acceptable else 1


# --- promosikan / kembalikan / riwayat-model ---------------------------------------------
RESTART_NOTE = ("Proses Rasa yang dinyalakan ulang juga memuat model ini: {pointer} menunjuk "
                "ke sana (LAW_MODEL pada systemd, law-prod dan make run memakainya).")


def run_promote(args: argparse.Namespace) -> int:
    paths = _paths(args)
    history, topology = History.load(paths.retrain), Topology.from_settings(args.server)
    current, candidate, comparison = compare_models(args, paths, history)
    done = promote(paths, history, topology, current, candidate, comparison, _staff_member(),
                   _now())
    print(f"Dipromosikan: {candidate.path.name} kini dipakai {len(done.processes)} proses "
          f"Rasa ({', '.join(done.processes)}).")
    print(f"Model sebelumnya disimpan ({done.replaced.name}); kembali ke sana dengan: "
          "antrean kembalikan")
    print(RESTART_NOTE.format(pointer=_for_shell(done.pointer)))
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    paths = _paths(args)
    history, topology = History.load(paths.retrain), Topology.from_settings(args.server)
    done = roll_back(paths, history, topology, _staff_member(), _now())
    print(f"Dikembalikan: {done.model.path.name} kini dipakai {len(done.processes)} proses "
          f"Rasa ({', '.join(done.processes)}).")
    print(RESTART_NOTE.format(pointer=_for_shell(done.pointer)))
    return 0


def run_history(args: argparse.Namespace) -> int:
    paths = _paths(args)
    history = History.load(paths.retrain)
    rows = [[n, Path(p.model).name, p.at[:16].replace("T", " "),
             "aktif" if n == len(history.promoted) else ""]
            for n, p in enumerate(history.promoted, start=1)]
    if rows:
        print(render_table(["no", "model", "sejak", "status"], rows, right=(0,)))
    else:
        print("Belum ada model yang dipromosikan.")
    if history.latest_candidate:
        print(f"Kandidat terakhir: {_shown(Path(history.latest_candidate), paths)}")
    if history.events:
        print("\nPromosi dan pengembalian:")
        print(render_table(
            ["waktu", "oleh", "", "model", "macro-F1", "sebelumnya"],
            [[e.at[:16].replace("T", " "), e.by, e.kind, e.model,
              "" if e.macro_f1 is None else f"{e.macro_f1:.3f}",
              "" if e.previous_macro_f1 is None else f"{e.previous_macro_f1:.3f}"]
             for e in history.events], right=(4, 5)))
    for process in Topology.from_settings(args.server).models():
        shown = process.problem or process.model_file or "(belum memuat model)"
        print(f"Server {process.url}: {shown}")
    return 0


# --- argparse ----------------------------------------------------------------------------
def _fraction(text: str) -> float:
    """A number from 0 to 1; a decimal comma (``0,6``) is fine too."""
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bukan angka: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"harus antara 0 dan 1: {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument("--proyek", metavar="DIR",
                         help="folder proyek Rasa (default: folder LAW ini)")
    models = argparse.ArgumentParser(add_help=False)
    models.add_argument("--kandidat", metavar="FILE",
                        help="model kandidat (default: hasil latih-kandidat terakhir)")
    models.add_argument("--model-saat-ini", metavar="FILE",
                        help="model pembanding (default: model terakhir yang dipromosikan, "
                        "atau model terbaru di models/)")
    models.add_argument("--set-uji", metavar="FILE",
                        help="set uji NLU (default tests/nlu/test_nlu.yml)")
    models.add_argument("--batas-turun", type=_fraction, default=DEFAULT_MARGIN, metavar="ANGKA",
                        help="penurunan F1 terbesar yang masih boleh untuk satu intent "
                        f"(default {DEFAULT_MARGIN})")
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--server", metavar="URL", help="alamat proses Rasa, dipisah koma "
                        "(default: LAW_RASA_URLS, atau LAW_RASA_URL, atau "
                        "http://localhost:5005; token di LAW_RASA_TOKEN)")

    p = subparsers.add_parser(
        "ekspor-ulasan", parents=[project],
        help="ekspor pesan yang tidak dipahami asisten ke file ulasan (CSV)",
        description="Mengambil pesan pemohon dari tracker store Rasa yang jatuh ke fallback "
        "atau keyakinan intent-nya di bawah ambang, menggabungkan teks yang sama, menyamarkan "
        "NIK, nomor telepon dan nama, lalu menulis file CSV dengan kolom teks, intent_tebakan, "
        "keyakinan, jumlah dan intent_benar (diisi petugas).")
    p.add_argument("--keluar", metavar="FILE",
                   help="file CSV (default var/ulasan-TANGGAL.csv; - = layar)")
    p.add_argument("--ambang", type=_fraction, default=DEFAULT_CONFIDENCE_THRESHOLD,
                   metavar="ANGKA",
                   help="ekspor juga pesan dengan keyakinan di bawah angka ini "
                   f"(default {DEFAULT_CONFIDENCE_THRESHOLD})")
    p.add_argument("--sejak", metavar="TANGGAL", help="hanya pesan sejak tanggal ini")
    p.add_argument("--tracker", metavar="URL",
                   help="basis data percakapan Rasa (default LAW_TRACKER_URL atau var/tracker.db)")
    p.set_defaults(handler=run_export)

    p = subparsers.add_parser(
        "impor-ulasan", parents=[project],
        help="tambahkan baris file ulasan yang sudah diberi intent ke data latih",
        description="Membaca file ulasan; baris dengan intent_benar terisi ditambahkan ke "
        "data/nlu/reviewed.yml. Baris kosong dilewati, teks yang sudah ada di data latih "
        "dilewati, intent yang tidak dikenal membatalkan impor (nomor barisnya disebut). "
        "Sesudahnya rasa data validate dijalankan; bila gagal, file dikembalikan.")
    p.add_argument("file", metavar="FILE", help="file ulasan (CSV) yang sudah diisi")
    p.set_defaults(handler=run_import)

    p = subparsers.add_parser(
        "latih-kandidat", parents=[project],
        help="latih model kandidat dari data latih sekarang",
        description="Melatih model baru ke models/latih-ulang/ tanpa mengganti model yang "
        "sedang dipakai. Lanjutkan dengan 'bandingkan' dan 'promosikan'.")
    p.add_argument("--hanya-nlu", action="store_true",
                   help="latih bagian NLU saja (lebih cepat; hanya untuk server yang juga "
                   "memakai model NLU saja)")
    p.set_defaults(handler=run_train)

    p = subparsers.add_parser(
        "bandingkan", parents=[project, models],
        help="bandingkan F1 per intent model saat ini dan kandidat pada set uji",
        description="Menguji model saat ini dan kandidat pada set uji, lalu menampilkan F1 per "
        "intent dan macro-F1 berdampingan. Kode keluar 0 bila kandidat layak dipromosikan, "
        "1 bila tidak.")
    p.set_defaults(handler=run_compare)

    p = subparsers.add_parser(
        "promosikan", parents=[project, models, server],
        help="pakai kandidat di server Rasa bila tidak lebih buruk",
        description="Membandingkan lagi (hasil uji disimpan, jadi cepat), lalu bila macro-F1 "
        "tidak turun dan tidak ada intent yang turun lebih dari batas, memuat kandidat ke "
        "setiap proses Rasa yang sedang berjalan (API PUT /model; server dijalankan dengan "
        "--enable-api), semua atau tidak sama sekali, lalu models/current.tar.gz menunjuk ke "
        "kandidat agar dipakai juga sesudah dinyalakan ulang. Model sebelumnya disimpan untuk "
        "'kembalikan'.")
    p.set_defaults(handler=run_promote)

    p = subparsers.add_parser(
        "kembalikan", parents=[project, server],
        help="kembali ke model yang dipakai sebelum promosi terakhir",
        description="Memuat lagi model sebelumnya ke server Rasa. Bisa diulang untuk mundur "
        "lebih jauh.")
    p.set_defaults(handler=run_rollback)

    p = subparsers.add_parser(
        "riwayat-model", parents=[project, server],
        help="daftar model yang pernah dipromosikan dan model yang dipakai server",
        description="Menampilkan model yang dipromosikan berurutan (yang terakhir aktif), "
        "kandidat terakhir, dan model yang sedang dimuat server Rasa.")
    p.set_defaults(handler=run_history)
