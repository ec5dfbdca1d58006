; Tag query additions for TSX, written for assistant's repo map.
; Loaded after typescript-tags.scm (the TSX grammar is TypeScript plus JSX).

(jsx_opening_element name: (identifier) @reference.class)
(jsx_self_closing_element name: (identifier) @reference.class)
(jsx_opening_element name: (member_expression property: (property_identifier) @reference.class))
(jsx_self_closing_element name: (member_expression property: (property_identifier) @reference.class))
