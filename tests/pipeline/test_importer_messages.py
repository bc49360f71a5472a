"""What the outbox and the quarantine keep of a failed call: its kind and the service's reason, never a
value the service echoed (it may be buyer data)."""

from sales_channel.commerce.errors import error_for_status
from sales_channel.pipeline.outbox_work import describe_error


def test_a_refusal_names_the_field_but_not_the_value_it_echoes():
    refusal = error_for_status(400, {"message": 'Invalid value of "%value" provided for the %fieldName field.',
                                     "parameters": {"value": "Zoë Ångström", "fieldName": "firstname"}},
                               "POST /V1/orders")
    described = describe_error(refusal)
    assert "firstname field" in described and "Zoë" not in described
    assert described.startswith("ValidationError: POST /V1/orders 400")


def test_a_refusal_with_positional_parameters_keeps_its_template():
    refusal = error_for_status(400, {"message": '"%1" is not a valid email address.', "parameters": ["a@b.c"]},
                               "POST /V1/customers")
    assert "a@b.c" not in describe_error(refusal) and '"%1" is not a valid email address.' in describe_error(refusal)


def test_an_untemplated_magento_message_is_not_kept():
    refusal = error_for_status(400, {"message": "SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate "
                                                "entry 'jane@example.com-1' for key 'CUSTOMER_EMAIL_WEBSITE_ID'"},
                               "POST /V1/customers")
    assert "jane@example.com" not in describe_error(refusal)
