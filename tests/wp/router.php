<?php
/**
 * Router for `WPREST_LAB_CONTENT=DIR php -S ... -t CORE tests/wp/router.php`.
 *
 * Plays the part of Apache's Alias + mod_rewrite in the Debian layout:
 *  - /wp-content/* lives in WPREST_LAB_CONTENT (the site's WP_CONTENT_DIR,
 *    /var/lib/wordpress/wp-content for the system's WordPress), not under the
 *    document root, so serve it from there ourselves;
 *  - real files under the core (wp-login.php, wp-admin/, css...) are left to
 *    the built-in server (`return false`), which also runs .php;
 *  - everything else (pretty permalinks, /wp-json/...) goes to index.php,
 *    like WordPress's own .htaccess rules.
 */

define( 'WPREST_LAB_DOCROOT', rtrim( (string) realpath( $_SERVER['DOCUMENT_ROOT'] ), '/' ) );
define( 'WPREST_LAB_CONTENT', rtrim( (string) ( getenv( 'WPREST_LAB_CONTENT' ) ?: '/var/lib/wordpress/wp-content' ), '/' ) );

$wprest_lab_path = rawurldecode( (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) );

if ( 0 === strpos( $wprest_lab_path, '/wp-content/' ) ) {
	// realpath() + prefix check: no "../" escapes. Themes and plugins are
	// symlinks into /usr/share/wordpress/wp-content, so accept that root too.
	$wprest_lab_file = realpath( WPREST_LAB_CONTENT . substr( $wprest_lab_path, strlen( '/wp-content' ) ) );
	$wprest_lab_ok   = false !== $wprest_lab_file && is_file( $wprest_lab_file ) && (
		0 === strpos( $wprest_lab_file, WPREST_LAB_CONTENT . '/' ) ||
		0 === strpos( $wprest_lab_file, WPREST_LAB_DOCROOT . '/wp-content/' )
	);
	if ( ! $wprest_lab_ok ) {
		http_response_code( 404 );
		header( 'Content-Type: text/plain' );
		echo "Not found\n";
		return true;
	}
	if ( '.php' === strtolower( substr( $wprest_lab_file, -4 ) ) ) {
		// A plugin's own endpoint: run it as Apache would.
		$_SERVER['SCRIPT_FILENAME'] = $wprest_lab_file;
		$_SERVER['SCRIPT_NAME']     = $wprest_lab_path;
		$_SERVER['PHP_SELF']        = $wprest_lab_path;
		chdir( dirname( $wprest_lab_file ) );
		require $wprest_lab_file;
		return true;
	}
	$wprest_lab_types = array(
		'css'   => 'text/css; charset=UTF-8',
		'js'    => 'application/javascript; charset=UTF-8',
		'json'  => 'application/json',
		'txt'   => 'text/plain; charset=UTF-8',
		'html'  => 'text/html; charset=UTF-8',
		'xml'   => 'application/xml',
		'svg'   => 'image/svg+xml',
		'png'   => 'image/png',
		'jpg'   => 'image/jpeg',
		'jpeg'  => 'image/jpeg',
		'gif'   => 'image/gif',
		'webp'  => 'image/webp',
		'avif'  => 'image/avif',
		'ico'   => 'image/x-icon',
		'pdf'   => 'application/pdf',
		'woff'  => 'font/woff',
		'woff2' => 'font/woff2',
		'ttf'   => 'font/ttf',
		'mp3'   => 'audio/mpeg',
		'mp4'   => 'video/mp4',
		'zip'   => 'application/zip',
	);
	$wprest_lab_ext  = strtolower( pathinfo( $wprest_lab_file, PATHINFO_EXTENSION ) );
	$wprest_lab_type = $wprest_lab_types[ $wprest_lab_ext ] ?? ( function_exists( 'mime_content_type' ) ? mime_content_type( $wprest_lab_file ) : false );
	header( 'Content-Type: ' . ( $wprest_lab_type ? $wprest_lab_type : 'application/octet-stream' ) );
	header( 'Content-Length: ' . filesize( $wprest_lab_file ) );
	header( 'Last-Modified: ' . gmdate( 'D, d M Y H:i:s', filemtime( $wprest_lab_file ) ) . ' GMT' );
	if ( 'HEAD' !== $_SERVER['REQUEST_METHOD'] ) {
		readfile( $wprest_lab_file );
	}
	return true;
}

// Real file or directory (with its index.php) under the document root.
$wprest_lab_real = realpath( WPREST_LAB_DOCROOT . $wprest_lab_path );
if ( '/' !== $wprest_lab_path && false !== $wprest_lab_real && 0 === strpos( $wprest_lab_real, WPREST_LAB_DOCROOT . '/' ) ) {
	return false;
}

// Front controller. Make the script variables look like a direct request to
// /index.php (WordPress reads PHP_SELF / SCRIPT_NAME in a few places).
$_SERVER['SCRIPT_FILENAME'] = WPREST_LAB_DOCROOT . '/index.php';
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
chdir( WPREST_LAB_DOCROOT );
require WPREST_LAB_DOCROOT . '/index.php';
