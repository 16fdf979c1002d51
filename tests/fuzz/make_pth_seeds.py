"""Seeds for fuzz_pth: state dicts as torch.save writes them, zip and legacy format."""
import sys
from pathlib import Path

import torch

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
sd = torch.nn.Linear(3, 4).state_dict()
sd["t"] = torch.randn(3, 5).t()
sd["h"] = torch.ones(2, dtype=torch.float16)
torch.save(sd, out / "zip.pth")
torch.save(sd, out / "legacy.pth", _use_new_zipfile_serialization=False)
torch.save({"state_dict": sd, "epoch": 3}, out / "wrapped.pth")
