# Each rule of docs/abstat.md pinned on a small hand-made log.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use IO::Compress::Gzip qw(gzip $GzipError);
use JSON::PP ();
use AbstatTest qw(run_abstat log_line log_file report_ok exp_of variant_of
                  metric_of);

my $dir = tempdir(CLEANUP => 1);

# Helpers of AbstatTest under the short names the rules read best with.
*L = \&log_line;
*logfile = \&log_file;
*report = \&report_ok;
*variant = \&variant_of;
*metric = \&metric_of;

my $U1 = 'u1aaaaaaaaaaaaaa';
my $U2 = 'u2bbbbbbbbbbbbbb';
my $U3 = 'u3cccccccccccccc';
my $U4 = 'u4dddddddddddddd';

subtest 'entry is the earliest unforced exposure, whatever the file order' => sub {
    # The later file is read first; the purchase at 150 is after the entry
    # at 100 (in the second file) but before the exposure at 200.
    my $late = logfile(L('200.000', $U1, exposures => 'e:b'),
                       L('150.000', $U1, events => 'purchase;order=O1;revenue=10'),
                       L('300.000', $U2, exposures => 'e:a'),
                       L('301.000', $U2, events => 'add_to_cart'));
    my $early = logfile(L('100.000', $U1, exposures => 'e:b'),
                        L('90.000', $U1, events => 'add_to_cart'));
    my $r = report($late, $early);
    my $x = exp_of($r, 'e');
    is(variant($x, 'b')->{orders}, 1, 'purchase after the earliest exposure counts');
    is(variant($x, 'b')->{requests}, 3, 'requests from entry on (100, 150, 200)');
    is($r->{input}{events_before_exposure}, 1, 'the add_to_cart at 90 is before entry');
    is(metric($x, 'event:add_to_cart', 'b')->{value}, 0,
       'an event before entry does not count');
};

subtest 'multi-variant visitors are excluded and counted per variant' => sub {
    my $r = report(logfile(L('1.000', $U1, exposures => 'e:a'),
                           L('2.000', $U1, exposures => 'e:b'),
                           L('3.000', $U2, exposures => 'e:a'),
                           L('4.000', $U3, exposures => 'e:b,f:x')));
    my $x = exp_of($r, 'e');
    is(variant($x, 'a')->{visitors}, 1, 'a keeps one visitor');
    is(variant($x, 'b')->{visitors}, 1, 'b keeps one visitor');
    is(variant($x, 'a')->{multi_variant}, 1, 'a: one multi_variant');
    is(variant($x, 'b')->{multi_variant}, 1, 'b: one multi_variant');
    is(variant(exp_of($r, 'f'), 'x')->{visitors}, 1,
       'being multi in e does not touch f');
};

subtest 'forced pairs never count' => sub {
    my $r = report(logfile(
        L('1.000', $U1, forced => 'e:b'),
        L('2.000', $U1, events => 'purchase;order=F1;revenue=5'),
        L('3.000', $U2, exposures => 'e:a', forced => 'e:b'),
        L('4.000', $U3, exposures => 'e:a'),
        L('5.000', $U3, forced => 'e:b')));
    my $x = exp_of($r, 'e');
    my $b = variant($x, 'b');
    ok(!$b, 'a variant seen only forced is not in the analysis')
        or diag explain $b;
    is(variant($x, 'a')->{visitors}, 2, 'forced pairs beside exposures do not matter');
    is(variant($x, 'a')->{multi_variant}, 0, 'a forced second variant is no multi-variant');
};

subtest 'orders: earliest occurrence, duplicates, no id, refunds' => sub {
    my $events = "$dir/backoffice.jsonl";
    open my $fh, '>', $events or die;
    print $fh qq({"time":"50.000","event":"refund","order":"O2","revenue":"4.00"}\n);
    print $fh qq({"time":50,"event":"refund","order":"NOPE","revenue":1}\n);
    close $fh;
    my $r = report('--events', $events, logfile(
        L('10.000', $U1, exposures => 'e:a'),
        # The duplicate read first is the later one: the earliest wins.
        L('30.000', $U1, events => 'purchase;order=O1;revenue=20.00'),
        L('20.000', $U1, events => 'purchase;order=O1;revenue=10.00'),
        L('40.000', $U1, events => 'purchase;order=O2;revenue=8.00'),
        L('41.000', $U1, events => 'purchase;revenue=1.50,purchase;revenue=1.50'),
        L('42.000', '', events => 'refund;order=O1;revenue=-2.00'),
        L('43.000', '', events => 'refund;revenue=3'),
        L('10.000', $U2, exposures => 'e:b'),
        L('5.000', $U2, events => 'purchase;order=P1;revenue=99'),
        L('60.000', '', events => 'refund;order=P1;revenue=99')));
    my $x = exp_of($r, 'e');
    my $a = variant($x, 'a');
    is($a->{orders}, 4, 'O1 once, O2, two purchases without an id');
    cmp_ok(abs($a->{revenue} - (10 - 2 + 8 - 4 + 3)), '<', 1e-9,
           'earliest O1 revenue, refunds from the log and the back office');
    is($r->{input}{duplicate_orders}, 1, 'one duplicate');
    is($r->{input}{orphan_refunds}, 2, 'unknown order and no order id');
    is(variant($x, 'b')->{orders}, 0, 'a purchase before entry does not count');
    is(variant($x, 'b')->{revenue}, 0, 'nor does its refund');
    is($r->{input}{events_before_exposure}, 1, 'the pre-entry purchase is counted');
    is(metric($x, 'repeat_purchase_rate', 'b')->{baseline_value}, 1,
       'a visitor with 4 orders is a repeat buyer');
};

subtest 'requests, 5xx and latency from entry on; lines without event keys' => sub {
    my $r = report(logfile(
        L('1.000', $U1, status => '500', request_time => '1.000'),
        L('2.000', $U1, exposures => 'e:a', request_time => '0.100'),
        L('3.000', $U1, status => '502', request_time => '0.300'),
        L('2.000', $U2, exposures => 'e:b', status => '404'),
        '{"time":"3.000","uid":"' . $U2 . '","exposures":"","status":"503"}'));
    my $x = exp_of($r, 'e');
    is(variant($x, 'a')->{requests}, 2, 'the request before entry is left out');
    is(variant($x, 'a')->{errors_5xx}, 1, 'one 5xx after entry');
    cmp_ok(abs(metric($x, 'mean_latency', 'b')->{baseline_value} - 0.2), '<',
           1e-12, 'mean latency is sum(request_time)/sum(requests)');
    is(variant($x, 'b')->{errors_5xx}, 1, 'a line without event keys still counts');
    is($r->{input}{bad_lines}, 0, 'and is no bad line');
};

subtest 'bad lines are counted and sampled, never fatal' => sub {
    my @lines = ('nope', L('1.000', $U1, exposures => 'e:a'));
    push @lines, '{"time":"1.0"}' for 1 .. 12;
    my $path = logfile(@lines);
    my ($rc, $r, $err) = run_abstat('--max-bad', '100', $path);
    is($rc, 0, 'exit 0 under --max-bad');
    is($r->{input}{bad_lines}, 13, 'all counted');
    is(scalar @{ $r->{input}{bad_samples} }, 10, 'ten samples');
    is($r->{input}{bad_samples}[0]{line}, 1, 'with the line number');
    is($r->{input}{bad_samples}[0]{file}, $path, 'and the file');
    like($r->{input}{bad_samples}[1]{reason}, qr/uid/, 'and the reason');
    is(variant(exp_of($r, 'e'), 'a')->{visitors}, 1, 'good lines still read');
    my @bad = (
        '{"time":"1.000","uid":"x","exposures":"e:a",}',
        '{"time":"1.000","uid":"x","exposures":"e"}',
        '{"time":"1.000","uid":"x","exposures":"e:a,"}',
        '{"time":"1.0000001","uid":"x"}',
        '{"time":"-1","uid":"x"}',
        '{"time":"1","uid":7}',
        '{"time":"1","uid":"x","events":"Purchase"}',
        '{"time":"1","uid":"x","events":"purchase;revenue=1e3"}',
        '{"time":"1","uid":"x","status":"5xx"}',
        '{"time":"1","uid":"x"} trailing',
        '["time","uid"]',
    );
    ($rc, $r) = run_abstat(logfile(@bad));
    is($r->{input}{bad_lines}, scalar @bad, 'each kind of bad value is bad');
    is(scalar @{ $r->{experiments} }, 0, 'bad lines add no experiment');
};

subtest 'plain and gzip by magic bytes, stdin' => sub {
    my $plain = join '', map { "$_\n" } L('1.000', $U1, exposures => 'e:a'),
                                         L('2.000', $U2, exposures => 'e:b');
    my $gz_named_log = "$dir/rotated.log";
    gzip(\$plain => $gz_named_log) or die $GzipError;
    my $plain_named_gz = "$dir/plain.gz";
    open my $fh, '>', $plain_named_gz or die;
    print $fh L('3.000', $U3, exposures => 'e:a'), "\n";
    close $fh;
    my $r = report($gz_named_log, $plain_named_gz);
    is(variant(exp_of($r, 'e'), 'a')->{visitors}, 2, 'both read');

    local $AbstatTest::STDIN = $gz_named_log;
    $r = report('-');
    is(variant(exp_of($r, 'e'), 'b')->{visitors}, 1, 'gzip on stdin');
    $r = report();
    is($r->{input}{files}, 1, 'no file: stdin');
};

subtest 'unreadable and truncated files are named, the rest is read' => sub {
    my $good = logfile(L('1.000', $U1, exposures => 'e:a'));
    my $data = join '', map { L("$_.000", "u$_" . 'x' x 16, exposures => 'e:a') . "\n" }
                        1 .. 2000;
    my $gz;
    gzip(\$data => \$gz) or die $GzipError;
    my $trunc = "$dir/trunc.gz";
    open my $fh, '>', $trunc or die;
    print $fh substr($gz, 0, length($gz) / 2);
    close $fh;
    my ($rc, $r, $err) = run_abstat("$dir/missing.log", $good, $trunc);
    is($rc, 1, 'exit 1');
    like($err, qr{missing\.log}, 'the missing file is named');
    like($err, qr{trunc\.gz}, 'the truncated file is named');
    ok($r && variant(exp_of($r, 'e'), 'a')->{visitors} >= 1, 'report still written');
};

subtest 'weights, nginx conf, baseline, experiment filter, cap' => sub {
    my @l;
    for my $i (1 .. 30) {
        my $v = $i <= 20 ? 'a' : 'b';
        my $u = sprintf 'v%015d', $i;
        push @l, L("$i.000", $u, exposures => "e:$v,g:$v");
        push @l, L("$i.500", $u, events => "purchase;order=X$i;revenue=$i")
            if $i % 2;
    }
    my $log = logfile(@l);

    my $r = report($log);
    is(exp_of($r, 'e')->{srm}{weights_source}, 'equal', 'no weights: equal split');
    is(exp_of($r, 'e')->{baseline}, 'a', 'no control: the first by name');

    $r = report('--weights', 'e=b:1,a:2', $log);
    my $x = exp_of($r, 'e');
    is($x->{srm}{weights_source}, 'weights', '--weights used');
    cmp_ok(abs($x->{srm}{expected}{a} - 2 / 3), '<', 1e-15, 'relative weights');
    cmp_ok($x->{srm}{chi2}, '<', 1e-12, '20:10 at 2:1 is no mismatch');
    is(exp_of($r, 'g')->{srm}{weights_source}, 'equal', 'only for e');

    my $conf = "$dir/nginx.conf";
    mkdir "$dir/inc";
    open my $fh, '>', $conf or die;
    print $fh "http {\n  include inc/*.conf;\n}\n";
    close $fh;
    open $fh, '>', "$dir/inc/e.conf" or die;
    print $fh "ab_experiment e {\n salt 's;{x}';\n traffic 30%;\n"
            . " variant b 25%;\n variant a 75%;\n layer l 0-50%;\n}\n";
    close $fh;
    $r = report('--nginx-conf', $conf, $log);
    $x = exp_of($r, 'e');
    is($x->{baseline}, 'b', 'the first variant of the block is the baseline');
    is($x->{baseline_source}, 'nginx-conf', 'said so');
    cmp_ok(abs($x->{srm}{expected}{a} - 0.75), '<', 1e-15, 'conf weights');

    $r = report('--nginx-conf', $conf, '--baseline', 'a', '--experiment', 'e', $log);
    $x = exp_of($r, 'e');
    is($x->{baseline}, 'a', '--baseline wins');
    is(scalar @{ $r->{experiments} }, 1, '--experiment filters');

    $r = report('--cap-revenue', '50', '--experiment', 'e', $log);
    $x = exp_of($r, 'e');
    # Non-zero revenues 1,3,...,29: the median is 15.
    is($x->{revenue_cap}, 15, 'cap at the 50th percentile of non-zero revenues');
    ok(metric($x, 'revenue_per_visitor_capped', 'b'), 'capped metric reported');
    ok(metric($x, 'revenue_per_visitor', 'b'), 'uncapped still reported');
    cmp_ok(abs(metric($x, 'revenue_per_visitor_capped', 'b')->{value} - 75 / 10),
           '<', 1e-12, 'b capped: 21..29 odd capped at 15 -> 75 over 10');
};

subtest 'undefined statistics are null, never NaN' => sub {
    my ($rc, $r, $err) = run_abstat(logfile(L('1.000', $U1, exposures => 'e:a'),
                                            L('2.000', $U2, exposures => 'e:b')));
    my $m = metric(exp_of($r, 'e'), 'revenue_per_visitor', 'b');
    ok(!defined $m->{p_value} && !defined $m->{df}, 'one visitor each: null');
    ok(!defined $m->{rel_effect}, 'zero baseline: relative effect null');
    # a share of one visitor each is tested exactly (Fisher's p of 0 of 1
    # against 0 of 1 is 1), but has no df
    $m = metric(exp_of($r, 'e'), 'conversion_rate', 'b');
    ok($m->{small_counts} && $m->{p_value} == 1 && !defined $m->{df},
       'one visitor each: a share is tested exactly');
    my (undef, $out) = AbstatTest::run_abstat_raw('report', '--format', 'json',
        '-q', logfile(L('1.000', $U1, exposures => 'e:a')));
    unlike($out, qr/nan|inf/i, 'no NaN or Infinity in the text');
};

subtest 'SRM alert, zero-weight variants, over-long lines, events files' => sub {
    my @l;
    push @l, L("$_.000", sprintf('s%015d', $_), exposures => 'e:' . ($_ <= 90 ? 'a' : 'b'))
        for 1 .. 100;
    push @l, L('200.000', 'z000000000000000', exposures => 'e:zz');
    push @l, '{"time":"1.000","uid":"' . ('x' x (1100 * 1024)) . '"}';
    push @l, L('201.000', 'z000000000000001', exposures => 'e:a');
    my $events = "$dir/events.jsonl";
    open my $fh, '>', $events or die;
    print $fh qq({"time":"150.000","event":"signup","uid":"s000000000000001"}\n);
    print $fh qq({"time":"150.000","event":"signup"}\n);
    print $fh qq({"time":"150.000","event":"refund","order":"bad order"}\n);
    close $fh;
    my ($rc, $r) = run_abstat('--weights', 'e=a:50%,b:50%', '--events', $events,
                              logfile(@l));
    my $x = exp_of($r, 'e');
    ok($x->{srm}{alert}, '91 against 10 at 50/50 alerts');
    cmp_ok($x->{srm}{p_value}, '<', 1e-10, 'with a tiny p');
    is($x->{srm}{chi2}, undef, 'a visitor in a zero-weight variant: chi2 null');
    is($x->{srm}{expected}{zz}, 0, 'zz expected 0');
    is($r->{input}{bad_lines}, 3, "over-long line and two bad event lines")
        or diag explain $r->{input};
    # samples are ordered by line number, not by reading order
    is(scalar(grep { $_->{reason} =~ /too long/ }
              @{ $r->{input}{bad_samples} }), 1, 'said so');
    is(variant($x, 'a')->{visitors}, 91, 'the line after the long one is read');
    is(metric($x, 'event:signup', 'b')->{baseline_value}, 1 / 91,
       'a back-office event with a uid counts for that visitor');
};

done_testing();
