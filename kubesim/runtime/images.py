"""Which images run as real local programs on the embedded cluster, and how they start.

An image the project owns maps to a Python module of `services/`; the container's `args` follow, as a
Docker CMD follows its ENTRYPOINT. Any other image runs as a placeholder container.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Program:
    module: str
    default_args: tuple[str, ...] = ()


# Image name without tag -> program. Tags are ignored: every tag of these images runs the same code.
IMAGES: dict[str, Program] = {
    "sock-shop-payment-gateway": Program("services.payment_gateway"),
    "docker.io/library/sock-shop-payment-gateway": Program("services.payment_gateway"),
    "stripe/stripe-mock": Program("services.stripe_mock"),
    "docker.io/stripe/stripe-mock": Program("services.stripe_mock"),
    "quay.io/powercloud/sock-shop-orders": Program("services.orders", ("--port=8080",)),
    "quay.io/powercloud/sock-shop-user": Program("services.user"),
    "quay.io/powercloud/sock-shop-carts": Program("services.carts"),
}


def _repository(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def program_for(image: str) -> Program | None:
    return IMAGES.get(_repository(image))


def argv_for(image: str, args: list[str] | None) -> list[str]:
    program = program_for(image)
    if program is None:
        raise KeyError(image)
    return [sys.executable, "-u", "-m", program.module, *(args if args else program.default_args)]
