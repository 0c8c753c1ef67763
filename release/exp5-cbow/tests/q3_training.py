OK_FORMAT = True

test = {   'name': 'q3_training',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     embeddings = checks.as_numpy(checks.get(ns, 'embeddings'), 'embeddings').astype('float64')\n"
                                               "...     return {'shape': list(embeddings.shape), 'vocab_size': len(checks.get(ns, 'vocab')), 'dim': int(checks.get(ns, 'EMBED_DIM')), 'finite': "
                                               'bool(np.isfinite(embeddings).all())}\n'
                                               '>>> def judge(data):\n'
                                               "...     expected = (data['vocab_size'], data['dim'])\n"
                                               '...     assert tuple(data[\'shape\']) == expected, f"`embeddings` has shape {tuple(data[\'shape\'])}, expected (len(vocab), EMBED_DIM) = {expected}"\n'
                                               "...     assert data['finite'], '`embeddings` holds NaN or infinite values: lower the learning rate'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
