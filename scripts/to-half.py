#!/usr/bin/python3
"""to-half.py IN.crnn OUT.crnn — rewrite a model with f16 weights (batch-norm statistics stay
f32, as the C writer does). Half the size; `ocr-crnn eval` tells whether accuracy holds."""
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import crnn_format as cf  # noqa: E402

model = cf.read_model(sys.argv[1])
for name, t in model.tensors.items():
    if ".bn_" not in name:
        model.tensors[name] = t.astype(np.float16)
cf.write_model(sys.argv[2], model)
