OK_FORMAT = True

test = {   'name': 'q1_prepare',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     tokenize, build_vocab = (checks.get(ns, 'tokenize'), checks.get(ns, 'build_vocab'))\n"
                                               '...     return {\'tokens\': list(tokenize("The King\'s 3 films!")), \'vocab_example\': list(build_vocab([[\'b\', \'a\', \'b\'], [\'c\', \'a\', '
                                               "'b']], 2))}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'tokens\'] == [\'king\', \'films\'], f"""tokenize("The King\'s 3 films!") gave {data[\'tokens\']}, expected [\'king\', '
                                               '\'films\']"""\n'
                                               '...     assert data[\'vocab_example\'] == [\'<pad>\', \'b\', \'a\'], f"build_vocab([[\'b\', \'a\', \'b\'], [\'c\', \'a\', \'b\']], 2) gave '
                                               '{data[\'vocab_example\']}, expected [\'<pad>\', \'b\', \'a\']"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import re\n'
                                               '>>> from collections import Counter\n'
                                               '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS\n'
                                               '>>> TEXTS = [\'BBC NEWS: Sales rose 12% in 2004.\', \'state-of-the-art e-mail\\tservice\\nfor mp3 players\', "It\'s the film\'s best-known scene", '
                                               "'', '   ', 'Qatar, Iraq and Kuwait signed on Monday.', 'a b c dd ee ff']\n"
                                               ">>> VOCAB_CASES = [([['b', 'a', 'b'], ['c', 'a', 'b']], 1), ([['z', 'y'], ['y', 'z'], ['x']], 2), ([['q', 'r'], []], 3), ([['m', 'n', 'm', 'o', 'n', "
                                               "'m', 'p', 'o']], 1)]\n"
                                               '>>> def reference_tokens(text):\n'
                                               "...     return [w for w in re.findall('[a-z]+', text.lower()) if len(w) > 1 and w not in ENGLISH_STOP_WORDS]\n"
                                               '>>> def reference_vocab(documents, min_count):\n'
                                               '...     counts = Counter((w for d in documents for w in d))\n'
                                               "...     return ['<pad>'] + sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))\n"
                                               '>>> def corpus(name):\n'
                                               '...     from dlkit.data import load_bbc_news, load_kjv\n'
                                               "...     return load_bbc_news()[0] if name == 'bbc-news' else re.split('(?<=[.?!])\\\\s+', load_kjv())\n"
                                               '>>> def extract(ns):\n'
                                               "...     tokenize, build_vocab = (checks.get(ns, 'tokenize'), checks.get(ns, 'build_vocab'))\n"
                                               "...     corpus_ids = checks.get(ns, 'corpus_ids')\n"
                                               '...     return {\'tokens\': list(tokenize("The King\'s 3 films!")), \'vocab_example\': list(build_vocab([[\'b\', \'a\', \'b\'], [\'c\', \'a\', '
                                               "'b']], 2)), 'token_cases': [list(tokenize(t)) for t in TEXTS], 'vocabs': [list(build_vocab([list(d) for d in docs], m)) for docs, m in VOCAB_CASES], "
                                               "'vocab': list(checks.get(ns, 'vocab')), 'corpus': checks.get(ns, 'CORPUS'), 'min_count': int(checks.get(ns, 'MIN_COUNT')), 'lengths': np.array([len(d) "
                                               "for d in corpus_ids]), 'ids': np.concatenate([np.asarray(d, dtype=np.int64) for d in corpus_ids])}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'tokens\'] == [\'king\', \'films\'], f"""tokenize("The King\'s 3 films!") gave {data[\'tokens\']}, expected [\'king\', '
                                               '\'films\']"""\n'
                                               '...     assert data[\'vocab_example\'] == [\'<pad>\', \'b\', \'a\'], f"build_vocab([[\'b\', \'a\', \'b\'], [\'c\', \'a\', \'b\']], 2) gave '
                                               '{data[\'vocab_example\']}, expected [\'<pad>\', \'b\', \'a\']"\n'
                                               "...     for text, got in zip(TEXTS, data['token_cases']):\n"
                                               '...         expected = reference_tokens(text)\n'
                                               "...         assert got == expected, f'tokenize({text!r}) gave {got}, expected {expected}'\n"
                                               "...     for (docs, m), got in zip(VOCAB_CASES, data['vocabs']):\n"
                                               '...         expected = reference_vocab(docs, m)\n'
                                               "...         assert got == expected, f'build_vocab({docs}, {m}) gave {got}, expected {expected}'\n"
                                               "...     documents = [reference_tokens(t) for t in corpus(data['corpus'])]\n"
                                               "...     vocab = reference_vocab(documents, data['min_count'])\n"
                                               "...     if data['vocab'] != vocab:\n"
                                               "...         first = next((i for i, (a, b) in enumerate(zip(data['vocab'], vocab)) if a != b), min(len(vocab), len(data['vocab'])))\n"
                                               '...         raise AssertionError(f"`vocab` ({len(data[\'vocab\'])} words) differs from build_vocab(documents, MIN_COUNT) on the corpus ({len(vocab)} '
                                               'words) from index {first} on")\n'
                                               '...     index = {w: i for i, w in enumerate(vocab)}\n'
                                               '...     ids = [[index[w] for w in d if w in index] for d in documents]\n'
                                               "...     assert data['lengths'].tolist() == [len(d) for d in ids], '`corpus_ids` needs one list per document holding the indices of its in-vocabulary "
                                               "words'\n"
                                               "...     assert data['ids'].tolist() == [i for d in ids for i in d], '`corpus_ids` should hold word_to_index[word] for each in-vocabulary word, in "
                                               "order'\n"
                                               "...     return {'vocabulary size': len(vocab)}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
