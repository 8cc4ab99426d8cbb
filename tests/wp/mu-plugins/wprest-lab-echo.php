<?php
/**
 * Plugin Name: wp-rest lab echo route
 * Description: GET/POST/PUT/PATCH/DELETE /wp-json/wprest-lab/v1/echo answers
 *              with what PHP received: the method, the query string as PHP
 *              parsed it into $_GET, the form fields ($_POST), and the raw and
 *              JSON-decoded body. Lets a test prove how a client encodes
 *              parameters (PHP style: a[b]=1&a[c][0]=x) by round trip.
 *
 * Loaded on every lab site of every release. Public (no login needed): it
 * reveals nothing but the request itself. Lab only.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

if ( ! defined( 'WPREST_LAB_SITE' ) ) {
	return;
}

add_action(
	'rest_api_init',
	static function () {
		register_rest_route(
			'wprest-lab/v1',
			'/echo',
			array(
				'methods'             => array( 'GET', 'POST', 'PUT', 'PATCH', 'DELETE' ),
				'permission_callback' => '__return_true',
				'callback'            => 'wprest_lab_echo',
			)
		);
	}
);

/**
 * The request as PHP saw it. WordPress adds slashes to $_GET and $_POST
 * (wp_magic_quotes() in wp-includes/load.php, called by wp-settings.php);
 * wp_unslash() gives back exactly what PHP parsed. Top-level maps are cast to
 * objects so that an empty one is {} in JSON, not [].
 *
 * @param WP_REST_Request $request The REST request.
 * @return WP_REST_Response
 */
function wprest_lab_echo( $request ) {
	$body = $request->get_body();
	$json = null;
	if ( '' !== $body ) {
		$json = json_decode( $body, true );
	}
	return new WP_REST_Response(
		array(
			'method'       => isset( $_SERVER['REQUEST_METHOD'] ) ? wp_unslash( $_SERVER['REQUEST_METHOD'] ) : null,
			'rest_method'  => $request->get_method(),
			'query_string' => isset( $_SERVER['QUERY_STRING'] ) ? wp_unslash( $_SERVER['QUERY_STRING'] ) : '',
			'get'          => (object) wp_unslash( $_GET ),
			'post'         => (object) wp_unslash( $_POST ),
			'content_type' => isset( $_SERVER['CONTENT_TYPE'] ) ? wp_unslash( $_SERVER['CONTENT_TYPE'] ) : null,
			'body'         => $body,
			'json'         => $json,
			'user'         => get_current_user_id(),
		),
		200
	);
}
