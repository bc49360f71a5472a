"""`python -m sales_channel sku-map`: an ops person maps an Amazon SKU without writing SQL."""

from __future__ import annotations

import subprocess
import sys

from sales_channel.store.channel_store import ChannelStore


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sales_channel", "sku-map", *args], capture_output=True, text=True,
                          timeout=60)


def test_sku_map_set_list_get_and_remove(tmp_path):
    db = f"sqlite:///{tmp_path / 'channel.db'}"
    account = ("--db-url", db, "--account", "seller-1")
    assert cli(*account, "FP-1000-AMZ", "FRENCH-PRESS-1L").returncode == 0
    assert ChannelStore.open(db).skus.get("seller-1", "FP-1000-AMZ") == "FRENCH-PRESS-1L"
    assert cli(*account).stdout == "FP-1000-AMZ\tFRENCH-PRESS-1L\n"
    assert cli(*account, "FP-1000-AMZ").stdout.strip() == "FRENCH-PRESS-1L"
    assert cli(*account, "--remove", "FP-1000-AMZ").returncode == 0
    assert cli(*account, "FP-1000-AMZ").stdout.strip() == "FP-1000-AMZ (not mapped: the same SKU in Commerce)"
    missing = cli(*account, "--remove", "FP-1000-AMZ")
    assert missing.returncode == 1 and "no mapping" in missing.stderr
