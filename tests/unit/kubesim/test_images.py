"""What a container runs (runtime/images.py): only the container's own command and args are pointed at its
volumes; the interpreter and an image's seed file are this machine's paths, even under a mountPath like /tmp."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kubesim.runtime.images import SEED, argv_for, program_for

# A pod mounting an emptyDir at a directory that holds this checkout (a clone under /tmp, say).
CHECKOUT_PARENT = str(Path(__file__).resolve().parents[4])
MOUNTED = {CHECKOUT_PARENT: "/pods/uid/volumes/tmp-volume", "/mnt/locust": "/pods/uid/volumes/locustfile"}


def test_the_interpreter_and_the_seed_stay_where_they_are() -> None:
    argv = argv_for("quay.io/powercloud/sock-shop-catalogue-db:0.3.0", None, None, MOUNTED)
    assert argv == [sys.executable, "-u", "-m", "kubesim.servers.mariadb", "--init", str(SEED / "catalogue-db.sql")]


def test_the_containers_own_paths_are_pointed_at_its_volumes() -> None:
    args = ["-f", "/mnt/locust/locustfile.py", "--csv", f"{CHECKOUT_PARENT}/stats"]
    argv = argv_for("locustio/locust:2.32.1", ["locust"], args, MOUNTED)
    assert argv == [
        "locust",
        "-f",
        "/pods/uid/volumes/locustfile/locustfile.py",
        "--csv",
        "/pods/uid/volumes/tmp-volume/stats",
    ]
    module = argv_for("quay.io/powercloud/sock-shop-orders:0.4.7", None, ["--db=/mnt/locust/x"], MOUNTED)
    assert module == [sys.executable, "-u", "-m", "services.orders", "--db=/pods/uid/volumes/locustfile/x"]


@pytest.mark.parametrize(
    ("image", "known"),
    [
        ("weaveworksdemos/edge-router:0.1.1", "docker.io/weaveworksdemos/edge-router"),
        ("quay.io/powercloud/sock-shop-newthing:1", "quay.io/powercloud/sock-shop-newthing"),
    ],
)
def test_an_unknown_sock_shop_image_is_never_present(image: str, known: str) -> None:
    program = program_for(image)
    assert program is not None
    assert [r.how() for r in program.missing()] == [
        f"no local program runs the Sock Shop image {known}: the embedded cluster does not fake its services"
    ]


def test_other_images_have_no_program() -> None:
    assert program_for("grafana/grafana:11.0.0") is None
