OK_FORMAT = True

test = {   'name': 'q4_neighbours',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     similarity = checks.get(ns, 'cosine_similarity')(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]), np.array([2.0, 0.0]))\n"
                                               "...     nearest = checks.get(ns, 'nearest_neighbours')('b', np.array([[1.0, 0.0], [1.0, 0.1], [0.9, 0.2], [0.0, 1.0]]), ['<pad>', 'b', 'c', 'd'], "
                                               'k=2)\n'
                                               "...     return {'similarity': np.asarray(similarity, dtype=float), 'nearest': list(nearest)}\n"
                                               '>>> def judge(data):\n'
                                               '...     expected = [1.0, 0.0, np.sqrt(0.5)]\n'
                                               '...     assert np.allclose(data[\'similarity\'], expected), f"cosine_similarity gave {data[\'similarity\'].round(4).tolist()}, expected '
                                               '{np.round(expected, 4).tolist()}"\n'
                                               '...     assert data[\'nearest\'] == [\'c\', \'d\'], f"nearest_neighbours(\'b\', ..., k=2) gave {data[\'nearest\']}, expected [\'c\', \'d\'] (never the '
                                               'word itself or \'<pad>\')"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def cases():\n'
                                               '...     rng = np.random.default_rng(414447)\n'
                                               '...     out = []\n'
                                               '...     for rows, dim in ((6, 3), (40, 8), (200, 16)):\n'
                                               '...         matrix = rng.normal(size=(rows, dim))\n'
                                               "...         out.append((matrix, ['<pad>'] + [f'w{i}' for i in range(1, rows)]))\n"
                                               '...     matrix = rng.normal(size=(12, 5))\n'
                                               '...     matrix[0] = matrix[4] * 2.0\n'
                                               "...     out.append((matrix, ['<pad>'] + [f'w{i}' for i in range(1, 12)]))\n"
                                               '...     return out\n'
                                               '>>> def similarities(word, matrix, vocab):\n'
                                               '...     unit = checks.unit_rows(matrix)\n'
                                               '...     similarity = unit @ unit[vocab.index(word)]\n'
                                               '...     similarity[[0, vocab.index(word)]] = -np.inf\n'
                                               '...     return similarity\n'
                                               '>>> def reference(word, matrix, vocab, k):\n'
                                               '...     """The k nearest words, or every other word when vocab has fewer (never `word` or the padding)."""\n'
                                               "...     order = [i for i in np.argsort(-similarities(word, matrix, vocab), kind='stable') if i not in (0, vocab.index(word))]\n"
                                               '...     return [vocab[i] for i in order[:k]]\n'
                                               '>>> def agrees(got, word, matrix, vocab, k, tolerance=1e-05):\n'
                                               '...     """`got` are the k nearest words of `word` (all the others when fewer), most similar first (words closer than `tolerance` may swap)."""\n'
                                               '...     if got == reference(word, matrix, vocab, k):\n'
                                               '...         return True\n'
                                               '...     index = {w: i for i, w in enumerate(vocab)}\n'
                                               '...     n = min(k, len(vocab) - 2)\n'
                                               '...     if len(got) != n or len(set(got)) != n or any((w not in index or w in (word, vocab[0]) for w in got)):\n'
                                               '...         return False\n'
                                               '...     similarity = similarities(word, matrix, vocab)\n'
                                               '...     mine, best = (similarity[[index[w] for w in got]], np.sort(similarity)[::-1][:n])\n'
                                               '...     return bool(np.all(np.abs(mine - best) <= tolerance))\n'
                                               '>>> def extract(ns):\n'
                                               "...     similarity = checks.get(ns, 'cosine_similarity')(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]), np.array([2.0, 0.0]))\n"
                                               "...     nearest = checks.get(ns, 'nearest_neighbours')('b', np.array([[1.0, 0.0], [1.0, 0.1], [0.9, 0.2], [0.0, 1.0]]), ['<pad>', 'b', 'c', 'd'], "
                                               'k=2)\n'
                                               "...     out = {'similarity': np.asarray(similarity, dtype=float), 'nearest': list(nearest)}\n"
                                               "...     cosine, nearest = (checks.get(ns, 'cosine_similarity'), checks.get(ns, 'nearest_neighbours'))\n"
                                               '...     for n, (matrix, vocab) in enumerate(cases()):\n'
                                               "...         out[f'cosine_{n}'] = np.asarray(cosine(matrix.copy(), matrix[-1].copy()), dtype=float)\n"
                                               '...         for word in (vocab[1], vocab[4], vocab[-1]):\n'
                                               '...             for k in (1, 3, 5):\n'
                                               "...                 out[f'nearest_{n}_{word}_{k}'] = list(nearest(word, matrix.copy(), list(vocab), k=k))\n"
                                               '...     try:\n'
                                               "...         nearest('no-such-word', cases()[0][0], list(cases()[0][1]))\n"
                                               "...         out['unknown'] = 'no error'\n"
                                               '...     except KeyError:\n'
                                               "...         out['unknown'] = 'KeyError'\n"
                                               '...     except Exception as exc:\n'
                                               "...         out['unknown'] = type(exc).__name__\n"
                                               "...     embeddings, vocab = (checks.get(ns, 'embeddings'), list(checks.get(ns, 'vocab')))\n"
                                               "...     probes = checks.get(ns, 'probe_neighbours')\n"
                                               "...     assert isinstance(probes, dict), '`probe_neighbours` should be a dict: probe word -> list of 5 words'\n"
                                               "...     out.update({'probes': {str(w): list(v) for w, v in probes.items()}, 'probe_words': list(checks.get(ns, 'PROBES')), 'embeddings': "
                                               "checks.as_numpy(embeddings, 'embeddings').astype('float64'), 'vocab': vocab})\n"
                                               '...     return out\n'
                                               '>>> def judge(data):\n'
                                               '...     expected = [1.0, 0.0, np.sqrt(0.5)]\n'
                                               '...     assert np.allclose(data[\'similarity\'], expected), f"cosine_similarity gave {data[\'similarity\'].round(4).tolist()}, expected '
                                               '{np.round(expected, 4).tolist()}"\n'
                                               '...     assert data[\'nearest\'] == [\'c\', \'d\'], f"nearest_neighbours(\'b\', ..., k=2) gave {data[\'nearest\']}, expected [\'c\', \'d\'] (never the '
                                               'word itself or \'<pad>\')"\n'
                                               '...     for n, (matrix, vocab) in enumerate(cases()):\n'
                                               '...         expected = checks.unit_rows(matrix) @ checks.unit_rows(matrix[-1:])[0]\n'
                                               "...         assert np.allclose(data[f'cosine_{n}'], expected, atol=1e-06), f'cosine_similarity is wrong for a {matrix.shape[0]} x {matrix.shape[1]} "
                                               "matrix'\n"
                                               '...         for word in (vocab[1], vocab[4], vocab[-1]):\n'
                                               '...             for k in (1, 3, 5):\n'
                                               '...                 want = reference(word, matrix, vocab, k)\n'
                                               "...                 got = data[f'nearest_{n}_{word}_{k}']\n"
                                               '...                 assert agrees(got, word, matrix, vocab, k), f"nearest_neighbours({word!r}, k={k}) on a vocabulary of {len(vocab)} words gave '
                                               '{got}, expected {want} (most similar first; never the word itself or \'<pad>\'; all {len(vocab) - 2} other words when k is larger)"\n'
                                               '...     assert data[\'unknown\'] == \'KeyError\', f"nearest_neighbours of a word not in vocab should raise KeyError, got {data[\'unknown\']}"\n'
                                               "...     probes = data['probes']\n"
                                               '...     assert set(data[\'probe_words\']) <= set(probes), f"`probe_neighbours` lacks {sorted(set(data[\'probe_words\']) - set(probes))}"\n'
                                               "...     for word in data['probe_words']:\n"
                                               "...         want = reference(word, data['embeddings'], data['vocab'], 5)\n"
                                               "...         assert agrees(list(probes[word]), word, data['embeddings'], data['vocab'], 5), f'probe_neighbours[{word!r}] is {probes[word]}; your "
                                               "embeddings give {want}'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 3}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
