"""What the importer keeps of a Commerce refusal: the reason and the field, never a submitted value."""

from sales_channel.commerce.errors import ValidationError
from sales_channel.pipeline.outbox_work import without_values as _without_values


def test_a_refusal_names_the_field_but_not_the_value_it_echoes():
    refusal = ValidationError('Invalid value of "Zoë Ångström" provided for the firstname field.', status=400,
                              template='Invalid value of "%value" provided for the %fieldName field.',
                              parameters={"value": "Zoë Ångström", "fieldName": "firstname"})
    assert _without_values(refusal) == 'Invalid value of "%value" provided for the firstname field.'


def test_a_refusal_with_positional_parameters_keeps_its_template():
    refusal = ValidationError('"a@b.c" is not a valid email address.', status=400,
                              template='"%1" is not a valid email address.', parameters=["a@b.c"])
    assert _without_values(refusal) == '"%1" is not a valid email address.'
