<?php
/**
 * Seeds a benchmark category of the lab's main site with exactly N published
 * posts, idempotently. Run by bench/lab.py as www-data (like tests/wp/install.php):
 *
 *   php bench/seed.php --host=127.0.0.1:8765 --slug=bench-posts-2000 --count=2000
 *
 * Posts are "Bench post n" (n = 1..N), one minute apart from 2018-01-01 so
 * that date ordering is total, each marked with the meta key
 * _wprest_bench_seed = n. Whatever else is in the category (extra numbers,
 * duplicates, posts without the mark) is deleted for good; missing numbers
 * are created; unpublished ones are republished. Nothing outside the
 * category is touched. stdout is one JSON line; WordPress's chatter goes to
 * stderr.
 */

if ( PHP_SAPI !== 'cli' ) {
	exit( 1 );
}

$opts = getopt( '', array( 'host:', 'slug:', 'count:' ) );
if ( empty( $opts['host'] ) || empty( $opts['slug'] ) || ! isset( $opts['count'] ) ) {
	fwrite( STDERR, "seed.php: --host, --slug and --count are required\n" );
	exit( 2 );
}
$bench_slug  = (string) $opts['slug'];
$bench_count = (int) $opts['count'];
if ( ! preg_match( '/^bench-[a-z0-9-]+$/', $bench_slug ) || $bench_count < 0 || $bench_count > 100000 ) {
	fwrite( STDERR, "seed.php: the slug must start with bench- and the count be 0..100000\n" );
	exit( 2 );
}
const BENCH_META = '_wprest_bench_seed';

ob_start();

list( $bench_ip, $bench_port ) = array_pad( explode( ':', $opts['host'], 2 ), 2, '80' );
$_SERVER['HTTP_HOST']       = $opts['host'];
$_SERVER['SERVER_NAME']     = $bench_ip;
$_SERVER['SERVER_PORT']     = $bench_port;
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
$_SERVER['REMOTE_ADDR']     = '127.0.0.1';

require '/usr/share/wordpress/wp-load.php';

// No HTTP from here (pings, enclosures, update checks).
add_filter(
	'pre_http_request',
	static function () {
		return new WP_Error( 'wprest_bench_seed', 'no HTTP while seeding' );
	},
	PHP_INT_MAX
);

global $wpdb;

$term = get_term_by( 'slug', $bench_slug, 'category' );
if ( $term ) {
	$term_id = (int) $term->term_id;
} else {
	$made = wp_insert_term( 'Benchmark ' . substr( $bench_slug, 6 ), 'category', array( 'slug' => $bench_slug ) );
	if ( is_wp_error( $made ) ) {
		fwrite( STDERR, 'seed.php: cannot create the category: ' . $made->get_error_message() . "\n" );
		exit( 3 );
	}
	$term_id = (int) $made['term_id'];
}

$rows = $wpdb->get_results(
	$wpdb->prepare(
		"SELECT p.ID, p.post_status, m.meta_value AS n FROM {$wpdb->posts} p
		 JOIN {$wpdb->term_relationships} r ON r.object_id = p.ID
		 JOIN {$wpdb->term_taxonomy} t ON t.term_taxonomy_id = r.term_taxonomy_id
		 LEFT JOIN {$wpdb->postmeta} m ON m.post_id = p.ID AND m.meta_key = %s
		 WHERE t.term_id = %d AND t.taxonomy = 'category' ORDER BY p.ID",
		BENCH_META,
		$term_id
	)
);

$have    = array();
$extra   = array();
$revive  = array();
foreach ( $rows as $row ) {
	$n = null === $row->n ? 0 : (int) $row->n;
	if ( $n < 1 || $n > $bench_count || isset( $have[ $n ] ) ) {
		$extra[] = (int) $row->ID;
		continue;
	}
	$have[ $n ] = (int) $row->ID;
	if ( 'publish' !== $row->post_status ) {
		$revive[] = (int) $row->ID;
	}
}
$missing = $bench_count > 0 ? array_diff( range( 1, $bench_count ), array_keys( $have ) ) : array();

if ( $extra || $revive || $missing ) {
	wp_set_current_user( 1 );
	wp_defer_term_counting( true );
	remove_action( 'publish_post', '_publish_post_hook', 5 );
	$wpdb->query( 'START TRANSACTION' );
	foreach ( $extra as $id ) {
		wp_delete_post( $id, true );
	}
	foreach ( $revive as $id ) {
		if ( 'trash' === get_post_status( $id ) ) {
			wp_untrash_post( $id );
		}
		wp_update_post( array( 'ID' => $id, 'post_status' => 'publish' ) );
	}
	$start = gmmktime( 0, 0, 0, 1, 1, 2018 );
	foreach ( $missing as $n ) {
		$date    = gmdate( 'Y-m-d H:i:s', $start + 60 * $n );
		$content = '';
		for ( $p = 1; $p <= 3; $p++ ) {
			$content .= "<!-- wp:paragraph -->\n<p>Bench post $n, paragraph $p: lorem ipsum dolor sit amet, "
				. 'consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna '
				. "aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris.</p>\n<!-- /wp:paragraph -->\n\n";
		}
		$id = wp_insert_post(
			array(
				'post_title'    => "Bench post $n",
				'post_name'     => "$bench_slug-$n",
				'post_content'  => $content,
				'post_status'   => 'publish',
				'post_author'   => 1,
				'post_date'     => $date,
				'post_date_gmt' => $date,
				'post_category' => array( $term_id ),
				'meta_input'    => array( BENCH_META => $n ),
			),
			true
		);
		if ( is_wp_error( $id ) ) {
			$wpdb->query( 'ROLLBACK' );
			fwrite( STDERR, "seed.php: cannot insert post $n: " . $id->get_error_message() . "\n" );
			exit( 4 );
		}
	}
	$wpdb->query( 'COMMIT' );
	wp_defer_term_counting( false );
	wp_update_term_count_now( array( $term_id ), 'category' );
}

clean_term_cache( $term_id, 'category' );
$published = (int) $wpdb->get_var(
	$wpdb->prepare(
		"SELECT COUNT(*) FROM {$wpdb->posts} p
		 JOIN {$wpdb->term_relationships} r ON r.object_id = p.ID
		 JOIN {$wpdb->term_taxonomy} t ON t.term_taxonomy_id = r.term_taxonomy_id
		 WHERE t.term_id = %d AND t.taxonomy = 'category' AND p.post_type = 'post' AND p.post_status = 'publish'",
		$term_id
	)
);

$chatter = ob_get_clean();
if ( '' !== trim( $chatter ) ) {
	fwrite( STDERR, $chatter . "\n" );
}
echo wp_json_encode(
	array(
		'category_id' => $term_id,
		'published'   => $published,
		'created'     => count( $missing ),
		'deleted'     => count( $extra ),
		'republished' => count( $revive ),
	)
) . "\n";
exit( $published === $bench_count ? 0 : 5 );
