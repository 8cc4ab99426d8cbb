<?php
/**
 * Plugin Name: wp-rest lab abilities
 * Description: A small ability category and a few abilities for the
 *              Abilities API tests (REST namespace wp-abilities/v1, since
 *              WordPress 6.9). Does nothing where the API is missing.
 *
 * Registered the way a plugin does it: the category on
 * wp_abilities_api_categories_init, the abilities on wp_abilities_api_init
 * (wp_register_ability() refuses to run on any other hook; see
 * wp-includes/abilities-api.php). Each has meta.show_in_rest, without which
 * REST does not list or run it. The run route picks its method from the
 * annotations (WP_REST_Abilities_V1_Run_Controller): readonly -> GET,
 * destructive and idempotent -> DELETE, anything else -> POST.
 *
 *   wprest-lab/echo          readonly; input {text: string, n: integer, tags: string[]};
 *                            returns the input and the PHP type of each field
 *   wprest-lab/save-note     plain write (POST); input {key, text}; stores a note
 *   wprest-lab/delete-note   destructive + idempotent (DELETE); input {key}
 *   wprest-lab/bump-counter  plain write without input_schema (POST, no input)
 *   wprest-lab/clock         readonly without input_schema (GET, no input)
 *   wprest-lab/hidden        not shown in REST (404 rest_ability_not_found there)
 *
 * Permissions: echo and clock need the read capability (any logged-in user),
 * save-note and bump-counter edit_posts (not subscribers), delete-note
 * delete_others_posts (editors and administrators only). Lab only.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

if ( ! defined( 'WPREST_LAB_SITE' ) || ! function_exists( 'wp_register_ability' ) ) {
	return;
}

const WPREST_LAB_ABILITY_CATEGORY = 'wprest-lab';

add_action(
	'wp_abilities_api_categories_init',
	static function () {
		wp_register_ability_category(
			WPREST_LAB_ABILITY_CATEGORY,
			array(
				'label'       => 'wp-rest lab',
				'description' => 'Abilities of the wp-rest test lab.',
			)
		);
	}
);

/** The option that holds the note named $key. */
function wprest_lab_note_option( $key ) {
	return 'wprest_lab_note_' . $key;
}

/** Shared by every ability below: what each one adds is in wprest_lab_abilities(). */
function wprest_lab_ability_defaults( $annotations ) {
	return array(
		'category' => WPREST_LAB_ABILITY_CATEGORY,
		'meta'     => array(
			'annotations'  => $annotations,
			'show_in_rest' => true,
		),
	);
}

function wprest_lab_abilities() {
	$key = array(
		'type'      => 'string',
		'pattern'   => '^[a-z0-9-]+$',
		'minLength' => 1,
		'maxLength' => 40,
	);
	return array(
		'wprest-lab/echo'         => array(
			'label'               => 'Echo',
			'description'         => 'Returns its input and the PHP type of each field, to show how WordPress decoded it.',
			'annotations'         => array( 'readonly' => true, 'destructive' => false, 'idempotent' => true ),
			'input_schema'        => array(
				'type'                 => 'object',
				'properties'           => array(
					'text' => array( 'type' => 'string', 'description' => 'Any text.' ),
					'n'    => array( 'type' => 'integer', 'description' => 'A whole number.' ),
					'tags' => array(
						'type'        => 'array',
						'items'       => array( 'type' => 'string' ),
						'description' => 'A list of words.',
					),
				),
				'required'             => array( 'text' ),
				'additionalProperties' => false,
			),
			'permission_callback' => static function () {
				return current_user_can( 'read' );
			},
			'execute_callback'    => static function ( $input ) {
				$types = array();
				foreach ( (array) $input as $field => $value ) {
					$types[ $field ] = gettype( $value );
				}
				return array(
					'input' => $input,
					'types' => (object) $types,
				);
			},
		),
		'wprest-lab/save-note'    => array(
			'label'               => 'Save note',
			'description'         => 'Stores a short note under a key (replaces an existing one).',
			'annotations'         => array( 'readonly' => false, 'destructive' => false, 'idempotent' => false ),
			'input_schema'        => array(
				'type'                 => 'object',
				'properties'           => array(
					'key'  => $key,
					'text' => array( 'type' => 'string', 'maxLength' => 1000 ),
				),
				'required'             => array( 'key', 'text' ),
				'additionalProperties' => false,
			),
			'permission_callback' => static function () {
				return current_user_can( 'edit_posts' );
			},
			'execute_callback'    => static function ( $input ) {
				update_option( wprest_lab_note_option( $input['key'] ), $input['text'], false );
				return array(
					'key'   => $input['key'],
					'text'  => $input['text'],
					'saved' => true,
				);
			},
		),
		'wprest-lab/delete-note'  => array(
			'label'               => 'Delete note',
			'description'         => 'Deletes the note stored under a key; deleting a missing note is not an error.',
			'annotations'         => array( 'readonly' => false, 'destructive' => true, 'idempotent' => true ),
			'input_schema'        => array(
				'type'                 => 'object',
				'properties'           => array( 'key' => $key ),
				'required'             => array( 'key' ),
				'additionalProperties' => false,
			),
			'permission_callback' => static function () {
				return current_user_can( 'delete_others_posts' );
			},
			'execute_callback'    => static function ( $input ) {
				$existed = false !== get_option( wprest_lab_note_option( $input['key'] ) );
				delete_option( wprest_lab_note_option( $input['key'] ) );
				return array(
					'key'     => $input['key'],
					'deleted' => $existed,
				);
			},
		),
		'wprest-lab/bump-counter' => array(
			'label'               => 'Bump counter',
			'description'         => 'Adds one to a counter and returns the new value. Takes no input.',
			'annotations'         => array( 'readonly' => false, 'destructive' => false, 'idempotent' => false ),
			'permission_callback' => static function () {
				return current_user_can( 'edit_posts' );
			},
			'execute_callback'    => static function () {
				$count = (int) get_option( 'wprest_lab_counter', 0 ) + 1;
				update_option( 'wprest_lab_counter', $count, false );
				return array( 'count' => $count );
			},
		),
		'wprest-lab/clock'        => array(
			'label'               => 'Clock',
			'description'         => 'The site time in UTC. Takes no input.',
			'annotations'         => array( 'readonly' => true, 'destructive' => false, 'idempotent' => true ),
			'permission_callback' => static function () {
				return current_user_can( 'read' );
			},
			'execute_callback'    => static function () {
				return array( 'utc' => gmdate( 'Y-m-d\TH:i:s\Z' ) );
			},
		),
	);
}

add_action(
	'wp_abilities_api_init',
	static function () {
		foreach ( wprest_lab_abilities() as $name => $spec ) {
			$args = array_merge( wprest_lab_ability_defaults( $spec['annotations'] ), $spec );
			unset( $args['annotations'] );
			wp_register_ability( $name, $args );
		}
		// Registered but not shown in REST: the list leaves it out and the
		// routes answer 404 rest_ability_not_found.
		$hidden = wprest_lab_ability_defaults( array( 'readonly' => true ) );
		$hidden['meta']['show_in_rest'] = false;
		wp_register_ability(
			'wprest-lab/hidden',
			array_merge(
				$hidden,
				array(
					'label'               => 'Hidden',
					'description'         => 'Not available over REST.',
					'permission_callback' => '__return_true',
					'execute_callback'    => static function () {
						return 'hidden';
					},
				)
			)
		);
	}
);
