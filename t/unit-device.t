use FindBin; chdir "$FindBin::Bin/.." or die "$!"; exec "build/unit/test_device" or die "build/unit/test_device: $!\n";
