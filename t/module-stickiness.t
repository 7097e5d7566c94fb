#!/usr/bin/perl
# Stickiness: fresh visitors replaying their cookie keep their variant;
# ramping traffic 30% -> 60% with a reload keeps every enrolled visitor's
# variant and enrols about 60%; a new salt reshuffles as the reference says.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(reference_assign set_cookies header_values);

my $t = ABNginx->new->require_module->require_reference;

sub config {
    my ($traffic, $salt) = @_;
    return <<"EOF";
ab_experiment ramp {
    salt $salt;
    traffic $traffic;
    variant a 1;
    variant b 1;
    variant c 2;
}
ab_experiment other {
    variant x 50%;
    variant y 50%;
}
server {
    listen 127.0.0.1:%%PORT%%;
    location /x { ab ramp other; return 200 "\$ab_uid|\$ab_uid_new|\$ab_ramp|\$ab_other"; }
}
EOF
}

$t->write_config(config('30%', 'ramp-1'))->start;

my $N = 5000;
my $resp = $t->get_all([(['/x']) x $N]);
my (@uids, %first);
my $bad = 0;
for my $r (@$resp) {
    my ($u, $new, $ramp, $other) = split /\|/, $r->{body}, -1;
    my @sc = set_cookies($r);
    $bad++ unless $new eq '1' && @sc == 1 && $sc[0]{value} eq $u;
    push @uids, $u;
    $first{$u} = [$ramp, $other];
}
is($bad, 0, "$N fresh visitors got a cookie");

# Replays every visitor's cookie; returns uid -> [ramp, other] and the
# number of responses that were not a plain replay (new id or cookie).
sub replay {
    my $resp = $t->get_all([map { ['/x', "Cookie: abid=$_"] } @uids]);
    my (%got, $bad);
    for my $i (0 .. $#uids) {
        my $r = $resp->[$i];
        my ($u, $new, $ramp, $other) = split /\|/, $r->{body}, -1;
        $bad++ if $u ne $uids[$i] || $new ne '' || header_values($r, 'set-cookie');
        $got{$uids[$i]} = [$ramp, $other];
    }
    return (\%got, $bad || 0);
}

my ($again, $rbad) = replay();
is($rbad, 0, 'replay: same id, no new cookie');
is(scalar(grep { join('|', @{$again->{$_}}) ne join('|', @{$first{$_}}) } @uids),
    0, 'replay: every visitor keeps both variants');

my @enrolled30 = grep { $first{$_}[0] ne '' } @uids;
my $share30 = @enrolled30 / $N;
my $se30 = sqrt(0.3 * 0.7 / $N);
ok(abs($share30 - 0.3) < 4 * $se30, sprintf "traffic 30%%: %.4f enrolled (within 4 SE)", $share30);

# ramp up to 60%
ok($t->reload(config('60%', 'ramp-1')), 'reload with traffic 60%');
my ($ramped, $bad2) = replay();
is($bad2, 0, 'after the ramp: same ids, no new cookie');
my @moved = grep { $ramped->{$_}[0] ne $first{$_}[0] } @enrolled30;
is(scalar @moved, 0, 'after the ramp: every previously enrolled visitor keeps the variant')
    or diag(join "\n", map { "$_: $first{$_}[0] -> $ramped->{$_}[0]" } @moved[0 .. 4]);
is(scalar(grep { $ramped->{$_}[1] ne $first{$_}[1] } @uids), 0,
    'after the ramp: the other experiment is unchanged');
# the new workers mint ids of their own (the generator is not replayed)
my %old = map { $_ => 1 } @uids;
my $fresh = $t->get_all([(['/x']) x 1000]);
my @fresh_ids = map { (split /\|/, $_->{body})[0] } @$fresh;
my %fresh = map { $_ => 1 } @fresh_ids;
ok(keys(%fresh) == 1000 && !(grep { $old{$_} } @fresh_ids)
    && !(grep { !/^[0-9a-f]{32}$/ } @fresh_ids),
    'after the reload: 1,000 new ids, none seen before');

my @enrolled60 = grep { $ramped->{$_}[0] ne '' } @uids;
my $share60 = @enrolled60 / $N;
my $se60 = sqrt(0.6 * 0.4 / $N);
ok(abs($share60 - 0.6) < 4 * $se60, sprintf "traffic 60%%: %.4f enrolled (within 4 SE)", $share60);

# every assignment, before and after, as the reference computes it
my @ref30 = reference_assign(map { [$_, 'ramp-1', '30%', '1,1,2'] } @uids);
my @ref60 = reference_assign(map { [$_, 'ramp-1', '60%', '1,1,2'] } @uids);
my @names = qw(a b c);
my ($m30, $m60) = (0, 0);
for my $i (0 .. $#uids) {
    my $u = $uids[$i];
    my $w30 = $ref30[$i]{variant_index} < 0 ? '' : $names[$ref30[$i]{variant_index}];
    my $w60 = $ref60[$i]{variant_index} < 0 ? '' : $names[$ref60[$i]{variant_index}];
    $m30++ if $first{$u}[0] ne $w30;
    $m60++ if $ramped->{$u}[0] ne $w60;
}
is($m30, 0, 'traffic 30%: assignments as the reference');
is($m60, 0, 'traffic 60%: assignments as the reference');

# a new salt reshuffles, as the reference says
ok($t->reload(config('60%', 'ramp-2')), 'reload with a new salt');
my ($salted) = replay();
my @ref2 = reference_assign(map { [$_, 'ramp-2', '60%', '1,1,2'] } @uids);
my ($m2, $changed) = (0, 0);
for my $i (0 .. $#uids) {
    my $u = $uids[$i];
    my $w = $ref2[$i]{variant_index} < 0 ? '' : $names[$ref2[$i]{variant_index}];
    $m2++ if $salted->{$u}[0] ne $w;
    $changed++ if $salted->{$u}[0] ne $ramped->{$u}[0];
}
is($m2, 0, 'new salt: assignments as the reference');
ok($changed > $N / 4, "new salt: visitors reshuffled ($changed of $N changed)");

ABNginx::finish();
