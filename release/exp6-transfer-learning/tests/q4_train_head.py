OK_FORMAT = True

test = {   'name': 'q4_train_head',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import torch\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def probe_run(ns):\n'
                                               "...     step = checks.get(ns, 'train_one_epoch')\n"
                                               '...     generator = torch.Generator().manual_seed(414447)\n'
                                               '...     x = torch.randn(96, 8, generator=generator)\n'
                                               '...     y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()\n'
                                               '...     probe = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))\n'
                                               '...     probe[0].requires_grad_(False)\n'
                                               '...     before = [p.detach().numpy().copy() for p in probe.parameters()]\n'
                                               '...     optimizer = torch.optim.SGD([p for p in probe.parameters() if p.requires_grad], lr=0.1)\n'
                                               "...     losses = [float(checks.call(step, 'a small model (frozen Linear, ReLU, Linear), an SGD optimizer, 96 random inputs with 3 classes, "
                                               "batch_size=16', probe, optimizer, x, y, batch_size=16)) for _ in range(3)]\n"
                                               '...     after = [p.detach().numpy().copy() for p in probe.parameters()]\n'
                                               "...     return {'probe_x': x.numpy(), 'probe_y': y.numpy(), 'probe_losses': losses, **{f'probe_before_{i}': w for i, w in enumerate(before)}, "
                                               "**{f'probe_after_{i}': w for i, w in enumerate(after)}}\n"
                                               '>>> def cross_entropy(weights, x, y):\n'
                                               '...     hidden = np.maximum(x @ weights[0].T + weights[1], 0.0)\n'
                                               '...     logits = hidden @ weights[2].T + weights[3]\n'
                                               '...     logits = logits - logits.max(axis=1, keepdims=True)\n'
                                               '...     return float(np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(len(y)), y]))\n'
                                               '>>> def extract(ns):\n'
                                               "...     history = checks.get(ns, 'history_head', dict)\n"
                                               '...     probe = probe_run(ns)\n'
                                               "...     return {'loss': [float(v) for v in history.get('loss', [])], 'val_accuracy': [float(v) for v in history.get('val_accuracy', [])], 'probe_x': "
                                               "probe['probe_x'], 'probe_y': probe['probe_y'], 'probe_losses': probe['probe_losses'], 'probe_before': "
                                               "np.concatenate([probe[f'probe_before_{i}'].ravel() for i in range(4)]), 'probe_after': np.concatenate([probe[f'probe_after_{i}'].ravel() for i in "
                                               'range(4)])}\n'
                                               '>>> def unpack(flat):\n'
                                               '...     sizes = [(8, 8), (8,), (3, 8), (3,)]\n'
                                               '...     out, start = ([], 0)\n'
                                               '...     for shape in sizes:\n'
                                               '...         count = int(np.prod(shape))\n'
                                               '...         out.append(flat[start:start + count].reshape(shape))\n'
                                               '...         start += count\n'
                                               '...     return out\n'
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'loss\'] and data[\'val_accuracy\'], "record each epoch\'s loss and val_accuracy in history_head"\n'
                                               "...     before, after = (unpack(data['probe_before']), unpack(data['probe_after']))\n"
                                               "...     assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1]), 'train_one_epoch changed the weights of a frozen layer: "
                                               "train only what requires_grad'\n"
                                               "...     start, end = (cross_entropy(before, data['probe_x'], data['probe_y']), cross_entropy(after, data['probe_x'], data['probe_y']))\n"
                                               "...     assert end < start, f'after three calls of train_one_epoch the cross-entropy the grader recomputes went from {start:.4f} to {end:.4f}: zero "
                                               "the gradients, backward() and step() the optimizer for every mini-batch'\n"
                                               "...     losses = data['probe_losses']\n"
                                               "...     assert all(np.isfinite(losses)) and losses[-1] < losses[0], f'train_one_epoch returned the mean losses {[round(v, 4) for v in losses]} over "
                                               "three epochs; they should fall as it trains'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
