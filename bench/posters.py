"""Time rendering many posters (distinct counters and URLs) into one PDF.

Run from the repository root: .venv/bin/python bench/posters.py [--count 1000] [--size a4]
The target is 1,000 A4 posters in 20 s or less on a 2-core machine.
"""

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a plain script

from survey.printing.posters import PosterInfo, render_posters  # noqa: E402

WARDS = ["Vĩnh Thanh Vân", "Nguyễn Trung Trực", "An Hòa", "Rạch Sỏi", "Vĩnh Lạc", "Đông Thạnh"]


def sample_posters(count: int) -> list[PosterInfo]:
    """Return `count` posters with distinct, realistically long names and URLs."""
    posters = []
    for i in range(count):
        ward = WARDS[i % len(WARDS)]
        token = f"{i:04d}{(i * 7919) % 100000:05d}"
        posters.append(
            PosterInfo(
                agency_name=f"Ủy ban nhân dân phường {ward}, thành phố Rạch Giá, tỉnh Kiên Giang",
                counter_name=f"Bộ phận Một cửa – Quầy số {i + 1}",
                url=f"https://khaosat.kiengiang.gov.vn/s/{token}",
                short_url=f"khaosat.kiengiang.gov.vn/s/{token}",
                questionnaire_name="Phiếu khảo sát mức độ hài lòng về phục vụ hành chính công",
                printed_on=date(2026, 11, 21),
            )
        )
    return posters


def main() -> None:
    """Render the posters, write the PDF and print the time taken and the file size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", choices=["a4", "a6"], default="a4")
    parser.add_argument("--out", type=Path, default=Path("bench/out/posters.pdf"))
    args = parser.parse_args()

    posters = sample_posters(args.count)
    start = time.perf_counter()
    pdf = render_posters(posters, size=args.size)
    seconds = time.perf_counter() - start

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(pdf)
    print(
        f"{args.count} {args.size.upper()} posters: {seconds:.1f} s, "
        f"{len(pdf) / 1e6:.1f} MB ({len(pdf) / args.count / 1e3:.1f} kB a page) -> {args.out}"
    )


if __name__ == "__main__":
    main()
