#!/usr/bin/perl
# Exclusion (README "ab_exclude"), with conf-examples/bots.conf: crawlers,
# headless browsers and scripted clients see the baseline variant, are
# never exposed and never get an id cookie; browsers are enrolled as the
# reference assignment says. The same from a consent cookie map.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(reference_assign set_cookies);
use ABLog qw(full_log log_ok);

my $t = ABNginx->new->require_module->require_reference;

my $B = '"$ab_ex|$ab_ex2|$ab_exposures|$ab_uid|$ab_holdout"';

$t->write_config(full_log() . <<"EOF", access_log => 0)->start;
include %%REPO%%/conf-examples/bots.conf;

ab_experiment ex { variant base 50%; variant other 50%; }
ab_experiment ex2 { traffic 50%; variant first 1; variant second 1; }

map \$cookie_consent \$no_consent {
    default 1;
    "yes"   0;
}

server {
    listen 127.0.0.1:%%PORT%%;
    location / { ab ex ex2; return 200 $B; }
}

server {
    listen 127.0.0.1:%%PORT_1%%;
    ab_exclude \$no_consent;
    location / { ab ex ex2; return 200 $B; }
}
EOF

my @bots = (
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; '
        . 'Googlebot/2.1; +http://www.google.com/bot.html) '
        . 'Chrome/120.0.6099.199 Safari/537.36',
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 '
        . '(KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 '
        . '(Applebot/0.1; +http://www.apple.com/go/applebot)',
    'DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)',
    'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
    'Mozilla/5.0 (compatible; Baiduspider/2.0; '
        . '+http://www.baidu.com/search/spider.html)',
    'facebookexternalhit/1.1 '
        . '(+http://www.facebook.com/externalhit_uatext.php)',
    'Twitterbot/1.0',
    'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
    'Mozilla/5.0 (compatible; SemrushBot/7~bl; '
        . '+http://www.semrush.com/bot.html)',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) '
        . 'HeadlessChrome/120.0.0.0 Safari/537.36',
    'curl/8.4.0',
    'curl/8.5.0',
    'Wget/1.21.3',
    'Wget/1.21',
    'python-requests/2.31.0',
    undef,                              # no User-Agent (bots.conf: "")
);

my @browsers = (
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 '
        . '(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) '
        . 'AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 '
        . 'Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 '
        . '(KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 '
        . '(KHTML, like Gecko) Version/17.2 Safari/605.1.15',
);

# returning visitors whose natural variants are not the baselines: an
# excluded one must still see the baselines
my @uids = map { sprintf('exclude-visitor-%06d', $_) } 1 .. 40;
my @r1 = reference_assign(map { [$_, 'ex', '100%', '50%,50%'] } @uids);
my @r2 = reference_assign(map { [$_, 'ex2', '50%', '1,1'] } @uids);
my ($ret) = grep { $r1[$_]{variant_index} eq '1'
    && $r2[$_]{enrolled} eq '1' && $r2[$_]{variant_index} eq '1' }
    0 .. $#uids;
ok(defined $ret, 'a panel visitor in the non-baseline variants');
my $RET = $uids[$ret // 0];

my @expect;    # [uri tag, exposures, uid, uid_new]

sub ua { defined $_[0] ? ("User-Agent: $_[0]") : () }
sub short { my $s = $_[0] // '(none)'; length $s > 40 ? substr($s, 0, 40) . '...' : $s }

my $n = 0;
for my $ua (@bots) {
    for my $cookie (undef, $RET) {
        my $who = short($ua) . ($cookie ? ' with a cookie' : '');
        $n++;
        my $r = $t->get("/bot/$n", ua($ua),
            $cookie ? ("Cookie: abid=$cookie") : ());
        is($r->{status}, 200, "$who: 200");
        my ($v1, $v2, $exp, $uid, $hold) = split /\|/, $r->{body}, -1;
        is($v1, 'base', "$who: baseline of ex");
        is($v2, 'first', "$who: baseline of ex2");
        is($exp, '', "$who: no exposure");
        is(scalar(set_cookies($r)), 0, "$who: no Set-Cookie");
        is($hold, '', "$who: not in the holdout");
        # an excluded visitor has no id, even one it carries: not used,
        # not logged
        is($uid, '', "$who: no id");
        push @expect, ["/bot/$n", '', '', ''];
    }
}

# browsers: a fresh id, enrolled as the reference says
for my $ua (@browsers) {
    $n++;
    my $r = $t->get("/browser/$n", ua($ua));
    my $who = short($ua);
    is($r->{status}, 200, "$who: 200");
    my @sc = set_cookies($r);
    is(scalar @sc, 1, "$who: Set-Cookie");
    my $id = @sc ? $sc[0]{value} : '';
    my ($a1) = reference_assign([$id, 'ex', '100%', '50%,50%']);
    my ($a2) = reference_assign([$id, 'ex2', '50%', '1,1']);
    my $v1 = (qw(base other))[$a1->{variant_index}];
    my $v2 = $a2->{enrolled} ? (qw(first second))[$a2->{variant_index}] : '';
    my $exp = join ',', "ex:$v1", $v2 ? "ex2:$v2" : ();
    is($r->{body}, "$v1|$v2|$exp|$id|", "$who: enrolled");
    push @expect, ["/browser/$n", $exp, $id, '1'];
}

# a browser returning with its cookie
{
    $n++;
    my $r = $t->get("/browser/$n", ua($browsers[0]), "Cookie: abid=$RET");
    is($r->{body}, "other|second|ex:other,ex2:second|$RET|",
        'returning browser: its own variants');
    is(scalar(set_cookies($r)), 0, 'returning browser: no Set-Cookie');
    push @expect, ["/browser/$n", 'ex:other,ex2:second', $RET, ''];
}

# consent: excluded unless consent=yes (the server's ab_exclude replaces
# the bots map of the http level)
my $port1 = $t->port(1);
for my $c (['no cookie', [], 0], ['consent=no', ['Cookie: consent=no'], 0],
    ['consent=yes', ['Cookie: consent=yes'], 1],
    ['consent=yes and an id', ["Cookie: consent=yes; abid=$RET"], 1],
    ['consent=no and an id', ["Cookie: consent=no; abid=$RET"], 0],
    ['curl with consent=yes', ['Cookie: consent=yes'], 1, 'curl/8.4.0'])
{
    my ($what, $h, $in, $ua) = @$c;
    $n++;
    my $r = $t->get_all([["/consent/$n", @$h,
        ua($ua // $browsers[1])]], port => $port1)->[0];
    my @sc = set_cookies($r);
    my $has_id = grep { /abid=/ } @$h;
    if ($in) {
        my $id = $has_id ? $RET : (@sc ? $sc[0]{value} : '');
        is(scalar @sc, $has_id ? 0 : 1, "consent: $what: cookie minted "
            . 'unless sent');
        my ($a1) = reference_assign([$id, 'ex', '100%', '50%,50%']);
        my ($a2) = reference_assign([$id, 'ex2', '50%', '1,1']);
        my $v1 = (qw(base other))[$a1->{variant_index}];
        my $v2 = $a2->{enrolled} ? (qw(first second))[$a2->{variant_index}]
            : '';
        my $exp = join ',', "ex:$v1", $v2 ? "ex2:$v2" : ();
        is($r->{body}, "$v1|$v2|$exp|$id|", "consent: $what: enrolled");
        push @expect, ["/consent/$n", $exp, $id, $has_id ? '' : '1'];
    } else {
        is(scalar @sc, 0, "consent: $what: no Set-Cookie");
        is($r->{body}, 'base|first|||',
            "consent: $what: baselines, no exposure, no id");
        push @expect, ["/consent/$n", '', '', ''];
    }
}

my @lines = log_ok($t, 'exclusion', count => scalar @expect);
is(scalar @lines, scalar @expect, 'one log line per request');
is_deeply([map { join '|', @$_{qw(uri exposures uid uid_new)} } @lines],
    [map { join '|', @$_ } @expect], 'logged exposures and ids');

ABNginx::finish();
