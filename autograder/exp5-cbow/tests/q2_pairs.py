OK_FORMAT = True

test = {   'name': 'q2_pairs',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     contexts, targets = checks.get(ns, 'context_target_pairs')([7, 8, 9, 6], 2)\n"
                                               "...     return {'contexts': np.asarray(contexts), 'targets': np.asarray(targets)}\n"
                                               '>>> def judge(data):\n'
                                               '...     expected = [[0, 0, 8, 9], [0, 7, 9, 6], [7, 8, 6, 0], [8, 9, 0, 0]]\n'
                                               '...     assert data[\'contexts\'].shape == (4, 4), f"for 4 words and window 2 the contexts should have shape (4, 4), not {data[\'contexts\'].shape}"\n'
                                               '...     assert data[\'contexts\'].tolist() == expected, f"context_target_pairs([7, 8, 9, 6], 2) gave contexts {data[\'contexts\'].tolist()}, expected '
                                               '{expected}"\n'
                                               '...     assert data[\'targets\'].tolist() == [7, 8, 9, 6], f"the targets should be [7, 8, 9, 6], not {data[\'targets\'].tolist()}"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> CASES = [([5], 1), ([5], 3), ([3, 4], 1), ([1, 2, 3, 4, 5, 6, 7], 3), (list(range(11, 23)), 5), ([9, 9, 2, 9], 2), ([4, 5, 6], 5), ([], 2)]\n'
                                               '>>> ROWS = 997\n'
                                               '>>> def reference(ids, window):\n'
                                               '...     rows = [[ids[j] if 0 <= j < len(ids) else 0 for j in list(range(i - window, i)) + list(range(i + 1, i + window + 1))] for i in '
                                               'range(len(ids))]\n'
                                               '...     return (np.array(rows, dtype=np.int64).reshape(len(ids), 2 * window), np.array(ids, dtype=np.int64))\n'
                                               '>>> def extract(ns):\n'
                                               "...     contexts, targets = checks.get(ns, 'context_target_pairs')([7, 8, 9, 6], 2)\n"
                                               "...     out = {'contexts': np.asarray(contexts), 'targets': np.asarray(targets)}\n"
                                               "...     pairs = checks.get(ns, 'context_target_pairs')\n"
                                               '...     for n, (ids, window) in enumerate(CASES):\n'
                                               '...         contexts, targets = pairs(list(ids), window)\n'
                                               "...         out[f'contexts_{n}'], out[f'targets_{n}'] = (np.asarray(contexts), np.asarray(targets))\n"
                                               "...     corpus_ids = checks.get(ns, 'corpus_ids')\n"
                                               "...     corpus_contexts, corpus_targets = (np.asarray(checks.get(ns, 'contexts')), np.asarray(checks.get(ns, 'targets')))\n"
                                               "...     out.update({'window': int(checks.get(ns, 'WINDOW')), 'shape': list(corpus_contexts.shape), 'corpus_targets': corpus_targets, 'sample': "
                                               "corpus_contexts[::ROWS], 'lengths': np.array([len(d) for d in corpus_ids]), 'ids': np.concatenate([np.asarray(d, dtype=np.int64) for d in "
                                               'corpus_ids])})\n'
                                               '...     return out\n'
                                               '>>> def judge(data):\n'
                                               '...     expected = [[0, 0, 8, 9], [0, 7, 9, 6], [7, 8, 6, 0], [8, 9, 0, 0]]\n'
                                               '...     assert data[\'contexts\'].shape == (4, 4), f"for 4 words and window 2 the contexts should have shape (4, 4), not {data[\'contexts\'].shape}"\n'
                                               '...     assert data[\'contexts\'].tolist() == expected, f"context_target_pairs([7, 8, 9, 6], 2) gave contexts {data[\'contexts\'].tolist()}, expected '
                                               '{expected}"\n'
                                               '...     assert data[\'targets\'].tolist() == [7, 8, 9, 6], f"the targets should be [7, 8, 9, 6], not {data[\'targets\'].tolist()}"\n'
                                               '...     for n, (ids, window) in enumerate(CASES):\n'
                                               '...         contexts, targets = reference(ids, window)\n'
                                               "...         got = data[f'contexts_{n}']\n"
                                               "...         assert got.shape == contexts.shape, f'context_target_pairs({ids}, {window}): contexts of shape {got.shape}, expected {contexts.shape}'\n"
                                               "...         assert got.tolist() == contexts.tolist(), f'context_target_pairs({ids}, {window}) gave contexts {got.tolist()}, expected "
                                               "{contexts.tolist()}'\n"
                                               '...         assert data[f\'targets_{n}\'].tolist() == targets.tolist(), f"context_target_pairs({ids}, {window}) gave targets '
                                               '{data[f\'targets_{n}\'].tolist()}, expected {targets.tolist()}"\n'
                                               "...     window, ids = (data['window'], data['ids'])\n"
                                               "...     documents = np.split(ids, np.cumsum(data['lengths'])[:-1]) if len(data['lengths']) else []\n"
                                               '...     expected = [reference(d.tolist(), window) for d in documents]\n'
                                               '...     contexts = np.concatenate([c for c, _ in expected])\n'
                                               '...     assert tuple(data[\'shape\']) == contexts.shape, f"`contexts` has shape {tuple(data[\'shape\'])}; the corpus with WINDOW={window} gives '
                                               '{contexts.shape}"\n'
                                               "...     assert data['corpus_targets'].tolist() == ids.tolist(), '`targets` should be every word of corpus_ids, document after document'\n"
                                               "...     assert data['sample'].tolist() == contexts[::ROWS].tolist(), '`contexts` should stack context_target_pairs(document, WINDOW) of every document "
                                               "in order'\n"
                                               "...     return {'training pairs': int(len(ids))}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
