# abstat report --format html: one self-contained page, checked as text
# (no external resources, escaping, verdicts) and in headless Chromium
# (no console errors, every chart drawn with a non-zero size, phone and
# laptop screenshots). ABSTAT_SCREENSHOT=FILE keeps the laptop screenshot
# (docs/abstat-report.png is made so).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use AbstatTest qw(run_abstat_raw log_file segment_log);

my $dir = tempdir(CLEANUP => 1);
my $gen = 't/data/abstat/gen';
open my $ff, '<', "$gen/FILES" or die;
my @files = map { chomp; "$gen/$_" } grep { /\S/ } <$ff>;
close $ff;

# A bad line in a file whose name needs escaping.
my $odd = "$dir/a<b>&\"c.log";
open my $fh, '>', $odd or die;
print $fh "not json\n";
close $fh;

my $html = "$dir/report.html";
my ($rc, $out, $err) = run_abstat_raw('report', '-q', '--format', 'html',
    '--output', $html, '--events', "$gen/backoffice.jsonl", $odd, @files);
# 6: the odd file has no sound line; the page is written all the same
is($rc, 6, '--format html --output: exit 6 for the file of one bad line');
my $page = do { local $/; open my $h, '<', $html or die; <$h> };

like($page, qr/\A<!DOCTYPE html>/, 'an HTML document');
like($page, qr/<meta name="viewport" content="width=device-width/,
     'viewport for phones');
unlike($page, qr/\b(?:src|href)\s*=/i, 'no src or href: nothing loaded');
unlike($page, qr{https?:|//[a-z]|url\(|\@import|<link}i,
       'no URL, url(), @import or <link>');
like($page, qr/<h2>checkout_cta<\/h2>/, 'a section per experiment (1)');
like($page, qr/<h2>search_rank<\/h2>/, 'a section per experiment (2)');
like($page, qr/Sample ratio mismatch/, 'the SRM alert of search_rank');
like($page, qr/Guardrail regressed<\/strong>: error_rate upsell/,
     'the regressed guardrail of checkout_cta');
like($page, qr/Split as expected/, 'a split that is fine says so');
like($page, qr/<td>revenue_per_visitor <small>\(primary\)<\/small><\/td><td class="l">upsell<\/td>/,
     'the metrics table');
is(scalar(() = $page =~ /<svg /g), 6, 'three charts per experiment');
like($page, qr/aria-label="relative lift with confidence band".*<polygon/s,
     'the lift chart has its CI band');
like($page, qr/<td>lines<\/td><td>28061<\/td>/, 'input summary: lines');
ok($page =~ /a&lt;b&gt;&amp;&quot;c\.log:1</, 'file names are escaped');
unlike($page, qr/a<b>/, '... never raw');

# --by: a forest plot per dimension, a marker per segment (one treatment).
my $seg_html = "$dir/segments.html";
($rc) = run_abstat_raw('report', '-q', '--format', 'html', '--output',
    $seg_html, '--by', 'device', '--by', 'visitor', '--by', 'field:country',
    log_file(segment_log(1200, 9)));
is($rc, 0, '--by: the page is written');
my $seg_page = do { local $/; open my $h, '<', $seg_html or die; <$h> };
is(scalar(() = $seg_page =~ /<svg class="forest"/g), 3,
   '--by: a forest plot per dimension');

my $chromium = `sh -c 'command -v chromium || command -v chromium-browser' 2>/dev/null`;
chomp $chromium;

SKIP: {
    skip 'chromium is not installed (scripts/install-deps installs it): '
         . 'no browser test', 16 if !$chromium;

    # A fresh profile each time, no network at all (every host resolves
    # to nothing), no background services.
    my $n = 0;
    my $browse = sub {
        my ($url, @extra) = @_;
        my $profile = "$dir/profile" . $n++;
        mkdir $profile;
        my $cmd = join ' ', map { "'$_'" } 'timeout', '120', $chromium,
            '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
            '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync',
            '--host-resolver-rules=MAP * ~NOTFOUND',
            "--user-data-dir=$profile", '--enable-logging=stderr', '--v=0',
            @extra, $url;
        my $stdout = `$cmd 2>$dir/stderr`;
        my $stderr = do { local $/; open my $h, '<', "$dir/stderr"; <$h> };
        return ($stdout, $stderr // '');
    };
    my $console_errors = sub {
        return grep { /CONSOLE|Uncaught|SyntaxError|ReferenceError/ }
               split /\n/, $_[0];
    };

    # The harness itself: a page with a script error must be caught.
    my $broken = "$dir/broken.html";
    open my $b, '>', $broken or die;
    print $b "<!DOCTYPE html><html><body><script>no_such_function();"
           . "</script></body></html>\n";
    close $b;
    my (undef, $berr) = $browse->("file://$broken", '--dump-dom');
    ok(scalar $console_errors->($berr),
       'a script error shows on stderr (the check below can fail)');

    my ($dom, $stderr) = $browse->("file://$html", '--dump-dom');
    my @errors = $console_errors->($stderr);
    is_deeply(\@errors, [], 'no console errors on the report');
    my ($sizes) = $dom =~ /data-svg-sizes="([^"]*)"/;
    ok(defined $sizes, 'the page script ran (chart sizes recorded)');
    my @sizes = split ' ', $sizes // '';
    is(scalar @sizes, 6, 'six charts laid out');
    is(scalar(grep { /^([1-9]\d*)x([1-9]\d*)$/ } @sizes), 6,
       'every chart has a non-zero width and height') or diag($sizes);

    # Screenshots: a phone and a laptop.
    for my $shot (['phone', 390, 1400], ['laptop', 1280, 900]) {
        my ($name, $w, $h) = @$shot;
        my $png = "$dir/$name.png";
        my (undef, $serr) = $browse->("file://$html", "--screenshot=$png",
                                      "--window-size=$w,$h",
                                      '--hide-scrollbars');
        ok(-s $png && -s $png > 10_000, "$name screenshot written")
            or diag($serr);
        my $head = '';
        if (open my $p, '<:raw', $png) {
            read $p, $head, 24;
            close $p;
        }
        is(substr($head, 0, 8), "\x89PNG\r\n\x1a\n", "$name: a PNG");
        is(unpack('N', substr($head, 16, 4)), $w, "$name: $w pixels wide");
        if ($name eq 'laptop' && $ENV{ABSTAT_SCREENSHOT}) {
            copy($png, $ENV{ABSTAT_SCREENSHOT}) or die "$ENV{ABSTAT_SCREENSHOT}: $!";
            note("screenshot kept as $ENV{ABSTAT_SCREENSHOT}");
        }
    }
    my @left = grep { /CONSOLE|Uncaught/ } split /\n/, $stderr;
    is(scalar @left, 0, 'no console messages at all');

    # the forest plots drawn: every segment's marker has a size on screen
    my ($sdom, $serr) = $browse->("file://$seg_html", '--dump-dom');
    is_deeply([$console_errors->($serr)], [], '--by: no console errors');
    my ($markers) = $sdom =~ /data-forest-markers="([^"]*)"/;
    is($markers, 'device=3 visitor=2 field:country=7',
       '--by: one rendered marker per segment in each forest plot');
    my ($ssizes) = $sdom =~ /data-svg-sizes="([^"]*)"/;
    my @ss = split ' ', $ssizes // '';
    is(scalar(grep { /^[1-9]\d*x[1-9]\d*$/ } @ss), scalar @ss,
       '--by: every chart laid out with a size') or diag($ssizes);
    ok(@ss == 6, '--by: three charts and three forest plots');
}

done_testing();
