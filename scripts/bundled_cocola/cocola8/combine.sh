#!/bin/bash
# cocola8: the training set of the continuation = the new half-scale batch (v2b, seeds + 1000) first,
# then cocola6's half-scale batch, as hard links (the slakh reader refuses symlinks that leave the root)
set -e
D=/work/data/cocola8/v2x
mkdir -p $D/train
n=$(ls /work/data/cocola8/v2b/train | grep -c '^Track')
i=0
for t in $(ls /work/data/cocola8/v2b/train | grep '^Track' | sort); do i=$((i+1)); cp -al /work/data/cocola8/v2b/train/$t $D/train/$(printf Track%05d $i); done
for t in $(ls /work/data/cocola6/v2_opl/train | grep '^Track' | sort); do i=$((i+1)); cp -al /work/data/cocola6/v2_opl/train/$t $D/train/$(printf Track%05d $i); done
for s in val test_seen; do [ -e $D/$s ] || cp -al /work/data/cocola6/v2_opl/$s $D/$s; done
[ -e $D/test ] || cp -al /work/data/cocola5/v2_opl/test $D/test   # cocola6/v2_opl/test is a symlink to it
echo "$n new + $((i-n)) cocola6 tracks"
