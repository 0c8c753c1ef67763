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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
