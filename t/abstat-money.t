#!/usr/bin/perl
# Issue 12, abstat side: what a visitor sends about itself is never money,
# and money sums never wrap.
#  - 320 ids chosen by an attacker and 150 beacon-style purchase;src=client
#    events leave orders, conversion and AOV exactly as without them, and
#    are counted in input.client_order_events_ignored;
#  - purchases without an order id still count, and are counted in
#    input.orders_without_order_id;
#  - ten purchases of 999999999999.999999 by one visitor sum to 1e13, not
#    a negative number; twelve refunds of a 10.00 order net it to 0 (capped,
#    input.refunds_over_order), not +6.4e12; both survive --state.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();
use AbstatTest qw(run_abstat log_line log_file report_ok exp_of variant_of
                  metric_of);

plan(skip_all => "$AbstatTest::BIN is not built (make)")
    unless -x $AbstatTest::BIN;

my $dir = tempdir(CLEANUP => 1);

*L = \&log_line;
*logfile = \&log_file;
*report = \&report_ok;
*variant = \&variant_of;
*metric = \&metric_of;

my @money = qw(conversion_rate orders_per_visitor revenue_per_visitor
               average_order_value);

subtest 'forged beacon purchases do not move the result' => sub {
    my (@base, @ids, @beacon);
    my $t = 1000;
    # 400 honest visitors per variant; b converts a little less than a.
    for my $i (0 .. 799) {
        my $uid = sprintf 'h%015d', $i;
        my $var = $i % 2 ? 'b' : 'a';
        push @base, L(sprintf('%d.000', $t++), $uid, exposures => "co:$var");
        if (int($i / 2) % 10 < ($var eq 'a' ? 2 : 1)) {
            push @base, L(sprintf('%d.000', $t++), $uid,
                          events => "purchase;order=O$i;revenue=20.00");
        }
    }
    # The attacker's 320 ids, chosen to land in b; 150 of them call
    # /ab/event?e=purchase (with a revenue, and one a refund of a real order).
    for my $i (0 .. 319) {
        push @ids, L(sprintf('%d.000', $t++), sprintf('x%015d', $i),
                     exposures => 'co:b');
    }
    for my $i (0 .. 149) {
        push @beacon, L(sprintf('%d.000', $t++), sprintf('x%015d', $i),
                        events => 'purchase;src=client'
                                  . ($i % 3 ? '' : ';revenue=1.00'));
    }
    push @beacon, L(sprintf('%d.000', $t++), 'x000000000000000',
                    events => 'refund;src=client;order=O0;revenue=20.00');
    push @beacon, L(sprintf('%d.000', $t++), 'x000000000000001',
                    events => 'purchase;src=client;order=FORGED1;revenue=5');

    my $clean = report(logfile(@base, @ids));
    my $attacked = report(logfile(@base, @ids, @beacon));
    my ($xc, $xa) = (exp_of($clean, 'co'), exp_of($attacked, 'co'));
    for my $v (qw(a b)) {
        is(variant($xa, $v)->{orders}, variant($xc, $v)->{orders},
           "$v: orders unchanged");
        is(variant($xa, $v)->{revenue}, variant($xc, $v)->{revenue},
           "$v: revenue unchanged");
    }
    for my $m (@money) {
        for my $k (qw(value baseline_value rel_effect p_value)) {
            is(metric($xa, $m, 'b')->{$k}, metric($xc, $m, 'b')->{$k},
               "$m: $k unchanged");
        }
    }
    is(variant($xa, 'b')->{orders}, 40, 'b: the 40 real orders');
    is($attacked->{input}{client_order_events_ignored}, 152,
       '150 purchases, a refund and a purchase with an order id ignored');
    is($clean->{input}{client_order_events_ignored}, 0, 'none without them');
    is($attacked->{input}{orphan_refunds}, 0, 'the client refund is no refund');
};

subtest 'client funnel events still count; order ids recommended' => sub {
    my $r = report(logfile(
        L('0.500', 'u0aaaaaaaaaaaaaa', exposures => 'e:a'),
        L('1.000', 'u1aaaaaaaaaaaaaa', exposures => 'e:b'),
        L('2.000', 'u1aaaaaaaaaaaaaa', events => 'add_to_cart;src=client'),
        L('3.000', 'u1aaaaaaaaaaaaaa', events => 'purchase;revenue=7'),
        L('4.000', 'u1aaaaaaaaaaaaaa', events => 'purchase;revenue=7'),
        L('5.000', 'u1aaaaaaaaaaaaaa', events => 'purchase;order=A;revenue=7')));
    my $x = exp_of($r, 'e');
    is(metric($x, 'event:add_to_cart', 'b')->{value}, 1,
       'a client add_to_cart is a funnel event');
    is(variant($x, 'b')->{orders}, 3, 'purchases without id still count');
    is($r->{input}{orders_without_order_id}, 2,
       'and are counted: they cannot be deduplicated');
};

my $U = 'u1aaaaaaaaaaaaaa';
my $V = 'u2bbbbbbbbbbbbbb';
my @huge = (L('1.000', $U, exposures => 'e:b'),
            L('1.500', $V, exposures => 'e:a'),
            map({ L(sprintf('%d.000', 2 + $_), $U,
                    events => "purchase;order=H$_;revenue=999999999999.999999") }
                0 .. 4),
            map({ L(sprintf('%d.000', 10 + $_), $U,
                    events => 'purchase;revenue=999999999999.999999') } 0 .. 4),
            L('20.000', $V, events => 'purchase;order=R;revenue=10.00'),
            map({ L(sprintf('%d.000', 21 + $_), '',
                    events => 'refund;order=R;revenue=999999999999.999999') }
                0 .. 11));

sub check_huge {
    my ($r, $what) = @_;
    my $x = exp_of($r, 'e');
    my $b = variant($x, 'b');
    cmp_ok(abs($b->{revenue} - 9999999999999.99999), '<', 0.01,
           "$what: ten huge purchases sum to 1e13, not a wrapped sum")
        or diag "revenue $b->{revenue}";
    is($b->{orders}, 10, "$what: ten orders");
    my $aov = metric($x, 'average_order_value', 'b');
    cmp_ok(abs($aov->{value} - 999999999999.999999), '<', 0.01, "$what: AOV")
        or diag "AOV $aov->{value}";
    is($aov->{baseline_value}, 0,
       "$what: refunds beyond the order net it to 0, no more");
    is(variant($x, 'a')->{revenue}, 0, "$what: baseline revenue 0");
    is(variant($x, 'a')->{orders}, 1, "$what: the refunded order counts");
    is($r->{input}{refunds_over_order}, 1, "$what: and is counted");
}

subtest 'revenue sums never wrap; refunds are capped at the order' => sub {
    check_huge(report(logfile(@huge)), 'one run');
};

subtest 'the same through --state, split in two runs' => sub {
    my $state = "$dir/state";
    my $first = logfile(@huge[0 .. 8]);
    report('--state', $state, $first);
    my $second = logfile(@huge[9 .. $#huge]);
    check_huge(report('--state', $state, $first, $second), 'incremental');
};

subtest 'a state of the int64 layout (version 1) is refused clearly' => sub {
    my $state = "$dir/state";
    open my $fh, '<:raw', $state or die "$state: $!";
    local $/;
    my $bytes = <$fh>;
    close $fh;
    is(unpack('L', substr($bytes, 8, 4)), 8, 'states are written as version 8');
    substr($bytes, 8, 4) = pack 'L', 1;
    my $old = "$dir/state.v1";
    open $fh, '>:raw', $old or die;
    print $fh $bytes;
    close $fh;
    my ($rc, $r, $err) = run_abstat('--state', $old, logfile(@huge));
    is($rc, 5, 'exit 5');
    like($err, qr/\Q$old\E: state file version 1 is not supported .*remove it/,
         'names the file, the version and what to do');
};

done_testing();
