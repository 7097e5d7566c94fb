#!/usr/bin/perl
# The demo end to end (issue 13): scripts/demo with a few hundred
# visitors and a fixed seed, then its JSON report against what
# scripts/simulate-visitors says it sent (sent.json): every visitor who
# reached an exposure point counted once in the variant the storefront
# showed, every order and cent of revenue after refunds, duplicates once,
# no bad line. Run with seeded ids (the default) and with ids minted by
# the edge (--new-visitors), where a lost cookie costs the visitor.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use ABNginx;

my $abstat = "$ABNginx::REPO/build/abstat";
ABNginx->new->require_module;
plan(skip_all => "$abstat not built (run make)") unless -x $abstat;

my $visitors = 400;
my $seed = 7;

sub slurp_json {
    my ($file) = @_;
    open my $fh, '<', $file or return undef;
    local $/;
    return eval { JSON::PP->new->decode(<$fh>) };
}

# Runs the demo in a harness directory on harness ports; returns the
# output, the decoded sent.json and report.json.
sub run_demo {
    my (@args) = @_;
    my $t = ABNginx->new;
    my $dir = $t->dir;
    my @cmd = ("$ABNginx::REPO/scripts/demo", '--visitors', $visitors,
        '--seed', $seed, '--prefix', $dir, '--port', $t->port(0),
        '--store-port', $t->port(1), @args);
    my $out = `@cmd 2>&1`;
    is($?, 0, "scripts/demo @args exits 0") or diag($out);
    my $sent = slurp_json("$dir/sent.json");
    my $rep = slurp_json("$dir/report.json");
    ok($sent && $rep, 'sent.json and report.json written')
        or BAIL_OUT("no sent.json or report.json in $dir:\n$out");
    return ($out, $sent, $rep);
}

sub check_counts {
    my ($name, $sent, $rep) = @_;
    my $in = $rep->{input};
    is($in->{bad_lines}, 0, "$name: no bad line");
    is($sent->{errors}, 0, "$name: no failed request");
    is($sent->{variant_changes}, 0, "$name: no visitor saw two variants");
    is($in->{visitors}, $sent->{visitors},
        "$name: visitors $sent->{visitors}");
    ok($sent->{orders} > 0 && $sent->{refunds} > 0
        && $sent->{duplicate_orders} > 0,
        "$name: orders, refunds and duplicates were sent");
    is($in->{duplicate_orders}, $sent->{duplicate_orders},
        "$name: duplicate orders $sent->{duplicate_orders}");
    is($in->{orphan_refunds}, $sent->{orphan_refunds},
        "$name: orphan refunds $sent->{orphan_refunds}");
    is($in->{$_}, 0, "$name: $_ 0") for qw(refunds_over_order
        client_order_events_ignored orders_without_order_id);

    my %exp = map { $_->{name} => $_ } @{$rep->{experiments}};
    is_deeply([sort keys %exp], [sort keys %{$sent->{experiments}}],
        "$name: the experiments sent are reported");
    for my $e (sort keys %{$sent->{experiments}}) {
        my $want = $sent->{experiments}{$e};
        my %got = map { $_->{name} => $_ } @{$exp{$e}{variants} // []};
        is_deeply([sort keys %got], [sort keys %$want],
            "$name: $e: variants");
        for my $v (sort keys %$want) {
            my ($g, $w) = ($got{$v} // {}, $want->{$v});
            is($g->{$_}, $w->{$_}, "$name: $e:$v $_ $w->{$_}")
                for qw(visitors orders converters);
            is($g->{multi_variant}, 0,
                "$name: $e:$v no multi-variant visitor");
            is(sprintf('%.0f', ($g->{revenue} // -1) * 100),
                $w->{revenue_cents},
                "$name: $e:$v revenue in cents $w->{revenue_cents}");
        }
    }
}

my ($out, $sent, $rep) = run_demo();
check_counts('seeded ids', $sent, $rep);
like($out, qr/^\s*Set-Cookie: abid=[0-9a-f]{32};/m, 'the id cookie is shown');
like($out, qr/^\s*Set-Cookie: abid_x=[0-9a-f]{6};/m,
    'the marker cookie is shown');
unlike($out, qr/ARRAY\(0x/, 'no Perl reference printed');
like($out, qr/^Experiment checkout_cta:/m, 'the text report is printed');
like($out, qr/significant at 0\.05 \(Holm\)/, 'the story is printed');

# The seeded ids give the same assignment every run: visitor 1 (minted
# id) is in checkout_cta only, so aa_check must come out the same.
my (undef, $again) = run_demo();
is_deeply($again->{experiments}{aa_check}, $sent->{experiments}{aa_check},
    'the same seed sends the same aa_check visitors, orders and revenue');

my ($new_out, $new_sent, $new_rep) = run_demo('--new-visitors');
check_counts('minted ids', $new_sent, $new_rep);

ABNginx::finish();
