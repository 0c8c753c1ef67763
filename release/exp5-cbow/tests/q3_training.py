OK_FORMAT = True

test = {   'name': 'q3_training',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     embeddings = checks.as_numpy(checks.get(ns, 'embeddings'), 'embeddings').astype('float64')\n"
                                               "...     shape = (len(checks.get(ns, 'vocab')), int(checks.get(ns, 'EMBED_DIM')))\n"
                                               "...     return {'shape': list(embeddings.shape), 'vocab_size': len(checks.get(ns, 'vocab')), 'dim': int(checks.get(ns, 'EMBED_DIM')), 'finite': "
                                               "bool(np.isfinite(embeddings).all()), 'own': any((np.allclose(w, embeddings, atol=1e-06) for w in checks.weight_matrices(checks.get(ns, 'model'), "
                                               'shape)))}\n'
                                               '>>> def judge(data):\n'
                                               "...     expected = (data['vocab_size'], data['dim'])\n"
                                               '...     assert tuple(data[\'shape\']) == expected, f"`embeddings` has shape {tuple(data[\'shape\'])}, expected (len(vocab), EMBED_DIM) = {expected}"\n'
                                               "...     assert data['finite'], '`embeddings` holds NaN or infinite values: lower the learning rate'\n"
                                               '...     assert data[\'own\'], "`embeddings` are not the weights of an embedding layer of your `model`: hand in your model\'s own trained vectors (e.g. '
                                               'model.context_vectors.weight.detach().numpy())"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
