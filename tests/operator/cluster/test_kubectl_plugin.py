"""`kubectl sparket` (issue 20) against the real local control plane: import a wallet's
hotkeys (and refuse the ones that must not run), pause/resume/restart by selector, the
fleet status the operator publishes, and a report with every secret redacted.

The plugin is run as a user runs it: `kubectl sparket ...`, kubectl finding the
`kubectl-sparket` program on PATH (the project's console script) and KUBECONFIG in the
environment.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from bittensor_wallet import Keypair, Wallet

from sparket_local_cluster.control_plane import LocalCluster
from sparket_local_services.waits import wait_for
from sparket_operator.api.fleet_summary import SUMMARY_CONFIGMAP
from sparket_testkit.harness.operator_flows import condition, miner, volume_for, wait_status
from sparket_testkit.kube_cli import Cli, apply, get_json, try_get_json

pytestmark = pytest.mark.cluster


@pytest.fixture
def sparket(k8s_cluster: LocalCluster, control_plane_bin_dir: Path, ns: str) -> Cli:
    """`kubectl sparket -n <ns>`, with the cluster's kubeconfig in KUBECONFIG."""
    program = control_plane_bin_dir / "kubectl"
    if not program.exists():
        program = Path(shutil.which("kubectl") or "kubectl")
    assert shutil.which("kubectl-sparket"), "the console script is not on PATH"
    return Cli(program, ("sparket", "-n", ns), env={"KUBECONFIG": str(k8s_cluster.kubeconfig)})


def _wallet(root: Path, name: str, hotkeys: dict[str, bool]) -> dict[str, str]:
    """A bittensor wallet directory without a coldkey; `hotkeys` maps a hotkey name to
    whether its file is encrypted. Returns name -> ss58."""
    wallet = Wallet(name=name, path=str(root))
    wallet.set_coldkeypub(Keypair.create_from_mnemonic(Keypair.generate_mnemonic()))
    made = {}
    for hotkey, encrypted in hotkeys.items():
        keypair = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
        target = Wallet(name=name, hotkey=hotkey, path=str(root))
        target.set_hotkey(
            keypair,
            encrypt=encrypted,
            overwrite=True,
            hotkey_password="correct horse battery" if encrypted else None,
        )
        made[hotkey] = keypair.ss58_address
    return made


def _miners(kubectl: Cli, ns: str) -> dict[str, dict[str, Any]]:
    items = get_json(kubectl, "sparketminers", "-n", ns)["items"]
    return {m["metadata"]["name"]: m for m in items}


def test_import_makes_a_secret_and_a_miner_per_good_hotkey_and_refuses_the_rest(
    kubectl: Cli, sparket: Cli, ns: str, tmp_path: Path
) -> None:
    keys = _wallet(tmp_path, "fleet", {"h1": False, "h2": False, "locked": True})
    hotkeys = tmp_path / "fleet" / "hotkeys"
    shutil.copy(hotkeys / "h1", hotkeys / "h1-copy")  # the same hotkey twice
    # A Service already holds the first port import would pick.
    apply(kubectl, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "squatter", "namespace": ns},
        "spec": {"type": "NodePort", "selector": {"app": "squatter"},
                 "ports": [{"port": 80, "nodePort": 30400}]},
    })  # fmt: skip
    args = ("import", "--wallet-path", str(tmp_path), "--wallet", "fleet",
            "--first-node-port", "30400", "--label", "fleet=a")  # fmt: skip

    dry = sparket(*args, "--dry-run", check=False)
    assert dry.returncode == 1  # some hotkeys refused
    assert "2 miners would be imported, 2 refused" in dry.stdout
    assert _miners(kubectl, ns) == {}  # a dry run creates nothing

    result = sparket(*args, check=False)
    assert result.returncode == 1, result.stderr
    refused = sorted(result.stderr.strip().splitlines())
    assert len(refused) == 2
    assert refused[0].startswith("refused hotkey fleet/h1-copy:")
    assert "also hotkey h1 of this import" in refused[0]
    assert refused[1].startswith("refused hotkey fleet/locked: refused (HotkeyEncrypted)")
    made = _miners(kubectl, ns)
    assert set(made) == {"fleet-h1", "fleet-h2"}
    ports = {name: m["spec"]["axon"]["nodePort"] for name, m in made.items()}
    assert ports == {"fleet-h1": 30401, "fleet-h2": 30402}  # 30400 is the Service's
    assert made["fleet-h2"]["spec"]["hotkey"] == keys["h2"]
    assert made["fleet-h2"]["metadata"]["labels"] == {"sparket.io/wallet": "fleet", "fleet": "a"}
    secret = get_json(kubectl, "secret", "fleet-h2-wallet", "-n", ns)
    assert set(secret["data"]) == {"hotkey", "coldkeypub.txt"}

    # Idempotent: the same command again changes nothing, ports included.
    again = sparket(*args, check=False)
    assert again.returncode == 1
    assert {n: m["spec"]["axon"]["nodePort"] for n, m in _miners(kubectl, ns).items()} == ports
    assert {n: m["metadata"]["generation"] for n, m in _miners(kubectl, ns).items()} == {
        "fleet-h1": 1,
        "fleet-h2": 1,
    }


def test_import_refuses_a_wallet_that_holds_a_coldkey_and_creates_nothing(
    kubectl: Cli, sparket: Cli, ns: str, tmp_path: Path
) -> None:
    _wallet(tmp_path, "owner", {"h1": False})
    (tmp_path / "owner" / "coldkey").write_text('{"secretPhrase": "never here"}')
    result = sparket("import", "--wallet-path", str(tmp_path), "--wallet", "owner", check=False)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"refused wallet owner: holds a coldkey private key ({tmp_path / 'owner' / 'coldkey'}); "
        "copy only hotkeys/ and coldkeypub.txt to the mining host"
    ]
    assert _miners(kubectl, ns) == {}
    assert try_get_json(kubectl, "secret", "owner-h1-wallet", "-n", ns) is None


def test_import_of_a_missing_hotkey_file_names_it(sparket: Cli, tmp_path: Path) -> None:
    _wallet(tmp_path, "w", {"h1": False})
    result = sparket(
        "import", "--wallet-path", str(tmp_path), "--wallet", "w", "--hotkeys", "nope",
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"refused hotkey w/nope: no file {tmp_path / 'w' / 'hotkeys' / 'nope'}"
    )


def test_pause_resume_and_restart_act_on_the_selected_miners_only(
    kubectl: Cli, sparket: Cli, ns: str, tmp_path: Path
) -> None:
    _wallet(tmp_path, "a", {"h1": False, "h2": False})
    _wallet(tmp_path, "b", {"h1": False})
    sparket("import", "--wallet-path", str(tmp_path), "--wallet", "a", "--label", "fleet=a")
    sparket("import", "--wallet-path", str(tmp_path), "--wallet", "b", "--label", "fleet=b")

    assert sparket("pause", "-l", "fleet=a").stdout.split() == ["paused", "a-h1", "paused", "a-h2"]
    annotations = {
        n: m["metadata"].get("annotations") or {} for n, m in _miners(kubectl, ns).items()
    }
    assert annotations["a-h1"]["sparket.io/paused"] == "true"
    assert "sparket.io/paused" not in annotations["b-h1"]

    sparket("resume", "-l", "fleet=a")
    sparket("restart", "-l", "fleet=b")
    annotations = {
        n: m["metadata"].get("annotations") or {} for n, m in _miners(kubectl, ns).items()
    }
    assert "sparket.io/paused" not in annotations["a-h1"]
    assert "sparket.io/restartedAt" in annotations["b-h1"]
    assert "sparket.io/restartedAt" not in annotations["a-h1"]

    nothing = sparket("pause", "-l", "fleet=zzz", check=False)
    assert nothing.returncode == 1 and "match fleet=zzz" in nothing.stdout


def test_status_shows_the_operators_fleet_summary(
    kubectl: Cli, sparket: Cli, ns: str, start_operator: Any, tmp_path: Path
) -> None:
    operator = start_operator(fleet_summary_seconds="1")
    for name in ("s1", "s2"):
        wallet_files = _wallet(tmp_path, name, {"default": False})
        files = {
            "hotkey": tmp_path / name / "hotkeys" / "default",
            "coldkeypub.txt": tmp_path / name / "coldkeypub.txt",
        }
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{name}-wallet", "namespace": ns},
            "data": {k: base64.b64encode(p.read_bytes()).decode() for k, p in files.items()},
        }
        apply(
            kubectl,
            secret,
            volume_for(ns, name),
            miner(ns, name, wallet_files["default"], f"{name}-wallet"),
        )
    for name in ("s1", "s2"):
        wait_status(
            kubectl,
            ns,
            name,
            lambda s: s.get("phase") == "Running",
            what=f"{name} Running",
            operator=operator,
        )

    def summary() -> dict[str, Any]:
        found = try_get_json(kubectl, "configmap", SUMMARY_CONFIGMAP, "-n", ns) or {}
        return dict(json.loads((found.get("data") or {}).get("summary.json") or "{}"))

    # Written within a second of each change; the first one may predate the second miner.
    published = wait_for(
        lambda: (s := summary()).get("ready") == 2 and s,
        timeout=30,
        what="the fleet summary counting both miners Ready",
    )
    assert (published["miners"], published["byPhase"]) == (2, {"Running": 2})

    shown = sparket("status").stdout
    assert shown.splitlines()[0] == (
        f"Fleet {ns}: 2 miners, 2 Ready, 0 registered, 0 earning, 0.000000 alpha/day"
    )
    assert "\033[" not in shown  # no colour when not on a terminal
    rows = [line.split() for line in shown.splitlines() if line.startswith("s")]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("s1", "Running", "True"),
        ("s2", "Running", "True"),
    ]
    assert condition(get_json(kubectl, "sparketminer", "s1", "-n", ns)["status"], "Ready")


def test_report_zips_the_fleet_with_every_secret_redacted(
    kubectl: Cli, sparket: Cli, ns: str, tmp_path: Path
) -> None:
    _wallet(tmp_path, "r", {"h1": False})
    sparket("import", "--wallet-path", str(tmp_path), "--wallet", "r")
    planted = "hunter2-do-not-leak"
    apply(kubectl, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "leaky", "namespace": ns},
        "data": {"redis_password": planted, "note": "-----BEGIN PRIVATE KEY----- abc"},
    })  # fmt: skip
    output = tmp_path / "report.zip"
    result = sparket("report", "-o", str(output))
    assert result.stdout.startswith(f"wrote {output}")

    with zipfile.ZipFile(io.BytesIO(output.read_bytes())) as zipped:
        names = set(zipped.namelist())
        contents = {n: zipped.read(n).decode() for n in names}
    assert {f"{ns}/sparketminers.json", f"{ns}/events.json", f"{ns}/configmaps.json"} <= names
    assert f"{ns}/status/r-h1.json.error.txt" in names  # KWOK pods run nothing: recorded
    everything = "\n".join(contents.values())
    hotkey_file = (tmp_path / "r" / "hotkeys" / "h1").read_text()
    assert planted not in everything and "BEGIN PRIVATE KEY" not in everything
    assert json.loads(hotkey_file)["secretPhrase"] not in everything
    assert base64.b64encode(hotkey_file.encode()).decode()[:40] not in everything
    assert not any("secret" in n.lower() for n in names)
    miners = json.loads(contents[f"{ns}/sparketminers.json"])
    assert miners[0]["spec"]["wallet"]["secretName"] == "r-h1-wallet"  # references are kept


def test_a_miner_the_api_refuses_leaves_no_secret_behind(
    kubectl: Cli, sparket: Cli, ns: str, tmp_path: Path
) -> None:
    """Nothing half-way: admission refuses the SparketMiner (an unknown league), so the
    wallet Secret written just before it is deleted again."""
    _wallet(tmp_path, "bad", {"h1": False})
    result = sparket(
        "import", "--wallet-path", str(tmp_path), "--wallet", "bad",
        "--leagues", "nfl", "cricket", check=False,
    )  # fmt: skip
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("kubectl sparket import: applying SparketMiner bad-h1: 422")
    assert _miners(kubectl, ns) == {}
    assert try_get_json(kubectl, "secret", "bad-h1-wallet", "-n", ns) is None
