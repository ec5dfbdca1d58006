; Tag query for Bash, written for assistant's repo map.

(function_definition name: (word) @name) @definition.function
(program (variable_assignment name: (variable_name) @name) @definition.variable)
(program (declaration_command (variable_assignment name: (variable_name) @name)) @definition.variable)

(command name: (command_name (word) @reference.call))
(simple_expansion (variable_name) @reference.variable)
(expansion (variable_name) @reference.variable)
